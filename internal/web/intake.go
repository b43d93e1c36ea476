package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/sites"
)

// intakeFormats are the export formats offered, "auto" first.
var intakeFormats = [][2]string{
	{"auto", "Tell from the file"},
	{"central-json", "ODK Central: JSON (OData)"},
	{"central-csv", "ODK Central: CSV (or its ZIP)"},
	{"kobo-json", "KoboToolbox: JSON"},
	{"kobo-csv", "KoboToolbox: CSV (XML values and headers)"},
}

type intakeView struct {
	Site    *sites.Site
	Formats [][2]string
	Format  string
	DryRun  bool
	MaxMB   int
	Result  *api.IntakeResult
	Problem *api.Problem
	Error   string
}

func (u *UI) intakeView(site *sites.Site) intakeView {
	return intakeView{Site: site, Formats: intakeFormats, Format: "auto", MaxMB: api.MaxIntakeBody >> 20}
}

// intakePage shows the upload form for an export of ODK Collect or
// KoboCollect submissions.
func (u *UI) intakePage(c *gin.Context) {
	site, ok := u.siteFor(c)
	if !ok {
		return
	}
	u.render(c, http.StatusOK, "intake", site.Name+": forms from ODK Collect / KoboCollect", u.intakeView(site))
}

// importSubmissions sends an uploaded export to the API's intake and shows
// what came of each row.
func (u *UI) importSubmissions(c *gin.Context) {
	site, ok := u.siteFor(c)
	if !ok {
		return
	}
	title := site.Name + ": forms from ODK Collect / KoboCollect"
	v := u.intakeView(site)
	v.DryRun = c.PostForm("dry_run") == "on"
	for _, f := range intakeFormats {
		if c.PostForm("format") == f[0] {
			v.Format = f[0]
		}
	}
	var data []byte
	fh, err := c.FormFile("file")
	switch {
	case err != nil || fh.Size == 0:
		v.Error = "Choose the export file (JSON, CSV or ZIP) downloaded from ODK Central or KoboToolbox."
	case fh.Size > api.MaxIntakeBody:
		v.Error = fmt.Sprintf("The file is larger than %d MB. Export fewer submissions (for example since a date) and upload each part.", v.MaxMB)
	default:
		f, err := fh.Open()
		if err == nil {
			data, err = io.ReadAll(io.LimitReader(f, api.MaxIntakeBody+1))
			f.Close()
		}
		if err != nil {
			v.Error = "The file could not be read. Please choose it again."
		}
	}
	if v.Error != "" {
		u.render(c, http.StatusUnprocessableEntity, "intake", title, v)
		return
	}
	q := url.Values{"format": {v.Format}}
	if v.DryRun {
		q.Set("dry_run", "true")
	}
	path := "/api/v1/sites/" + url.PathEscape(site.ID) + "/intake?" + q.Encode()
	res := u.call(c, http.MethodPost, path, data, exportMediaType(data), c.PostForm("_csrf"), "")
	if res.Status < 300 {
		var r api.IntakeResult
		if err := json.Unmarshal(res.Body, &r); err == nil {
			v.Result = &r
		}
	} else {
		v.Problem = res.problem()
	}
	u.render(c, res.Status, "intake", title, v)
}

// exportMediaType tells the API what the file is: browsers name a CSV
// file's type inconsistently (Windows: application/vnd.ms-excel).
func exportMediaType(data []byte) string {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\ufeff")), " \t\r\n")
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return "application/zip"
	case bytes.HasPrefix(trimmed, []byte("{")) || bytes.HasPrefix(trimmed, []byte("[")):
		return "application/json"
	}
	return "text/csv"
}
