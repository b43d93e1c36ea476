package odkform

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// forms builds the forms of both shipped sites and of the test variant.
func forms(t *testing.T) map[string]*Form {
	t.Helper()
	out := map[string]*Form{}
	for _, id := range []string{"moutse", "johannesburg"} {
		site, in := shipped(t, id)
		f, err := Build(in, site)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = f
	}
	site, in := testInstrument(t)
	f, err := Build(in, site)
	if err != nil {
		t.Fatal(err)
	}
	out["test"] = f
	return out
}

// TestXLSFormRoundTrip writes each form as an XLSForm, reads it back and
// compares it with the form the XForm is written from.
func TestXLSFormRoundTrip(t *testing.T) {
	for name, f := range forms(t) {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteXLSForm(&buf, f); err != nil {
				t.Fatal(err)
			}
			back, err := ReadXLSForm(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Languages, f.Languages) {
				t.Errorf("languages %v, want %v", back.Languages, f.Languages)
			}
			if back.ID != f.ID || back.Title != f.Title || back.Version != f.Version || back.DefaultLanguage != f.DefaultLanguage {
				t.Errorf("settings %q %q %q %q, want %q %q %q %q", back.ID, back.Title, back.Version, back.DefaultLanguage,
					f.ID, f.Title, f.Version, f.DefaultLanguage)
			}
			if len(back.Survey) != len(f.Survey) {
				t.Fatalf("%d survey rows read back, %d written", len(back.Survey), len(f.Survey))
			}
			for i := range f.Survey {
				if !reflect.DeepEqual(back.Survey[i], f.Survey[i]) {
					t.Errorf("survey row %d:\nread    %+v\nwritten %+v", i+2, back.Survey[i], f.Survey[i])
				}
			}
			if !reflect.DeepEqual(back.Lists, f.Lists) {
				t.Errorf("choice lists differ:\nread    %+v\nwritten %+v", back.Lists, f.Lists)
			}
			if !reflect.DeepEqual(back, f) {
				t.Error("the form read back differs from the form written")
			}
		})
	}
}

// TestXLSFormSheets checks the workbook as ODK tools read it: the sheet
// and column names, and the version kept as text.
func TestXLSFormSheets(t *testing.T) {
	f := forms(t)["moutse"]
	var buf bytes.Buffer
	if err := WriteXLSForm(&buf, f); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := x.GetSheetList(); !reflect.DeepEqual(got, []string{"survey", "choices", "settings"}) {
		t.Errorf("sheets %v", got)
	}
	rows, _ := x.GetRows("survey")
	want := "type name label::English (en) label::Sepedi (nso) label::isiNdebele (nr) hint::English (en) hint::Sepedi (nso) hint::isiNdebele (nr) " +
		"required relevant constraint constraint_message::English (en) constraint_message::Sepedi (nso) constraint_message::isiNdebele (nr) default"
	if got := strings.Join(rows[0], " "); got != want {
		t.Errorf("survey columns\n%s\nwant\n%s", got, want)
	}
	if got := strings.Join(rows[1][:2], " "); got != "text cycle_ref" {
		t.Errorf("first row %q", got)
	}
	rows, _ = x.GetRows("choices")
	if got := strings.Join(rows[0], " "); got != "list_name name label::English (en) label::Sepedi (nso) label::isiNdebele (nr)" {
		t.Errorf("choices columns %q", got)
	}
	rows, _ = x.GetRows("settings")
	if got := strings.Join(rows[0], " "); got != "form_title form_id version default_language" {
		t.Errorf("settings columns %q", got)
	}
	if rows[1][1] != "khula_moutse" || rows[1][2] != "002000000_002000000" || rows[1][3] != "Sepedi (nso)" {
		t.Errorf("settings %q", rows[1])
	}
	if typ, _ := x.GetCellType("settings", "C2"); typ == excelize.CellTypeNumber {
		t.Error("the version must be stored as text")
	}
}

func TestReadXLSFormRejects(t *testing.T) {
	if _, err := ReadXLSForm(strings.NewReader("not a workbook")); err == nil {
		t.Error("want an error for a file that is not a workbook")
	}
	x := excelize.NewFile()
	_ = x.SetSheetName("Sheet1", "survey")
	_ = x.SetSheetRow("survey", "A1", &[]string{"type", "name", "label"})
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadXLSForm(&buf); err == nil || !strings.Contains(err.Error(), "language") {
		t.Errorf("a label column without a language: err = %v", err)
	}
}
