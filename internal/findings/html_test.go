package findings

import (
	"bytes"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// textOf is the text inside a node.
func textOf(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func writeHTML(t *testing.T, r Report) (string, *html.Node) {
	t.Helper()
	var b bytes.Buffer
	err := r.WriteHTML(&b, HTMLOptions{
		CSVLink: func(scope, table string) string {
			return "/findings/csv?scope=" + url.QueryEscape(scope) + "&table=" + table
		},
		AllCSVLink: "/findings/all.csv",
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return b.String(), doc
}

func TestWriteHTML(t *testing.T) {
	r := Build(testInput())
	raw, doc := writeHTML(t, r)

	var captions, theads, tables, sections int
	var links []string
	byTitle := map[string]int{}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "script", "link", "img", "iframe", "object", "embed":
			t.Errorf("element <%s>", n.Data)
		case "caption":
			captions++
			byTitle[n.FirstChild.Data]++
		case "thead":
			theads++
		case "table":
			tables++
		case "section":
			if attr(n, "class") == "scope" {
				sections++
			}
		case "a":
			links = append(links, attr(n, "href"))
		case "title":
			if got := textOf(n); got != "Findings: Khula <Test> & Co, wave 1" && n.Parent.Data == "head" {
				t.Errorf("title %q", got)
			}
		}
	}
	if tables != 48 || captions != 48 || theads != 48 || sections != 4 {
		t.Errorf("%d tables, %d captions, %d theads, %d scope sections", tables, captions, theads, sections)
	}
	for _, s := range r.Scopes {
		for _, tb := range s.Tables {
			if byTitle[tb.Title] != len(r.Scopes) {
				t.Errorf("caption %q %d times", tb.Title, byTitle[tb.Title])
			}
		}
	}
	for _, l := range links {
		if !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "/findings/") {
			t.Errorf("link %q", l)
		}
	}
	for _, want := range []string{
		"/findings/csv?scope=school%3A%3Dcmd&table=cohort",
		"/findings/all.csv",
		"#s2-" + TableGrowth,
	} {
		if !contains(links, want) {
			t.Errorf("no link %q", want)
		}
	}
	for _, want := range []string{
		"<!DOCTYPE html>",
		"<h1>Findings: Khula &lt;Test&gt; &amp; Co, wave 1</h1>",
		"Provisional: the wave is not closed",
		"Generated 11 April 2026, 08:00 UTC",
		"School: Beta &lt;School&gt;",
		"@page{size:A4;margin:15mm}",
		".scope+.scope{break-before:page}",
		"thead{display:table-header-group}",
		"table-layout:fixed",
		`<td>&lt;5</td>`,
		`<td>suppressed</td>`,
		`role="img"`,
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("no %q", want)
		}
	}
	// Pattern IDs are unique in the document.
	ids := map[string]int{}
	for n := range doc.Descendants() {
		if id := attr(n, "id"); id != "" {
			ids[id]++
		}
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q %d times", id, n)
		}
	}
}

func TestWriteHTMLBanner(t *testing.T) {
	for _, c := range []struct {
		status string
		banner bool
	}{{"open", true}, {"closing", true}, {"", true}, {"reported", false}, {"closed", false}} {
		in := testInput()
		in.WaveStatus = c.status
		raw, _ := writeHTML(t, Build(in))
		if got := strings.Contains(raw, "Provisional: the wave is not closed"); got != c.banner {
			t.Errorf("status %q: banner %v, want %v", c.status, got, c.banner)
		}
	}
}
