package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var hrefPattern = regexp.MustCompile(`<a [^>]*href="([^"#]*)`)

// TestNoLinkARoleCannotFollow walks, as each role, every page reachable
// by links from its start pages (up to a bound) and follows every link:
// none may answer 403 (a link to another school, a page of another role).
func TestNoLinkARoleCannotFollow(t *testing.T) {
	f := newFixture(t, true)
	starts := map[string][]string{
		"social-worker": {"/work", "/waves", "/sites/johannesburg", "/sites/johannesburg/meetings", "/sites/johannesburg/referrals", "/waves/johannesburg/2", formPage, childPage, meetingPage},
		"nurse-alex":    {"/work", "/waves", "/sites/johannesburg", "/waves/johannesburg/2"},
		"coordinator":   {"/work", "/waves", "/sites/johannesburg", "/waves/johannesburg/2"},
		"manager":       {"/waves", "/waves/johannesburg/2", "/sites/johannesburg"},
		"ops":           {"/ops"},
	}
	for who, from := range starts {
		t.Run(who, func(t *testing.T) {
			b := f.as(who)
			seen := map[string]bool{}
			queue := append([]string(nil), from...)
			var refused []string
			for len(queue) > 0 && len(seen) < 150 {
				path := queue[0]
				queue = queue[1:]
				if seen[path] {
					continue
				}
				seen[path] = true
				res := b.get(path)
				if res.status == http.StatusForbidden {
					refused = append(refused, path)
					continue
				}
				if res.status != http.StatusOK || !strings.Contains(res.header.Get("Content-Type"), "text/html") {
					continue
				}
				for _, m := range hrefPattern.FindAllStringSubmatch(res.body, -1) {
					link := strings.ReplaceAll(m[1], "&amp;", "&")
					u, err := url.Parse(link)
					if err != nil || u.IsAbs() || !strings.HasPrefix(link, "/") || strings.HasPrefix(link, "/static/") {
						continue
					}
					if !seen[link] {
						queue = append(queue, link)
					}
				}
			}
			sort.Strings(refused)
			for _, p := range refused {
				t.Errorf("%s is shown a link to %s, which answers 403", who, p)
			}
			t.Logf("%s: %d pages and downloads followed", who, len(seen))
		})
	}
}
