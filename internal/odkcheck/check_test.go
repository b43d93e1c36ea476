package odkcheck

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// validForm is written by hand from the ODK XForms spec: two itext
// languages (English the default), a select1, a group made relevant by it,
// and in the group an integer with a constraint and its message, a second
// select1, and a note; a preloaded instanceID that is no question. Four
// questions: consent, age_months, sex, thanks.
const validForm = `<?xml version="1.0" encoding="UTF-8"?>
<h:html xmlns="http://www.w3.org/2002/xforms"
        xmlns:h="http://www.w3.org/1999/xhtml"
        xmlns:jr="http://openrosa.org/javarosa"
        xmlns:orx="http://openrosa.org/xforms"
        xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <h:head>
    <h:title>khula odkcheck</h:title>
    <model>
      <itext>
        <translation lang="English" default="true()">
          <text id="/data/consent:label"><value>Does the caregiver consent?</value></text>
          <text id="/data/consent/yes:label"><value>Yes</value></text>
          <text id="/data/consent/no:label"><value>No</value></text>
          <text id="/data/child:label"><value>Child</value></text>
          <text id="/data/child/age_months:label"><value>Age in months</value></text>
          <text id="/data/child/age_months:hint"><value>0 to 72</value></text>
          <text id="/data/child/age_months:constraintMsg"><value>Age must be 0 to 72 months</value></text>
          <text id="/data/child/sex:label"><value>Sex</value></text>
          <text id="/data/child/sex/female:label"><value>Female</value></text>
          <text id="/data/child/sex/male:label"><value>Male</value></text>
          <text id="/data/child/thanks:label"><value>Thank you, the child is <output value="/data/child/age_months"/> months old.</value></text>
        </translation>
        <translation lang="isiZulu">
          <text id="/data/consent:label"><value>Ingabe umnakekeli uyavuma?</value></text>
          <text id="/data/consent/yes:label"><value>Yebo</value></text>
          <text id="/data/consent/no:label"><value>Cha</value></text>
          <text id="/data/child:label"><value>Ingane</value></text>
          <text id="/data/child/age_months:label"><value>Iminyaka ngezinyanga</value></text>
          <text id="/data/child/age_months:hint"><value>0 kuya ku-72</value></text>
          <text id="/data/child/age_months:constraintMsg"><value>Izinyanga kumele zibe ngu-0 kuya ku-72</value></text>
          <text id="/data/child/sex:label"><value>Ubulili</value></text>
          <text id="/data/child/sex/female:label"><value>Owesifazane</value></text>
          <text id="/data/child/sex/male:label"><value>Owesilisa</value></text>
          <text id="/data/child/thanks:label"><value>Siyabonga, ingane ineminyaka engu-<output value="/data/child/age_months"/> izinyanga.</value></text>
        </translation>
      </itext>
      <instance>
        <data id="khula_odkcheck" orx:version="2024010101">
          <consent/>
          <child>
            <age_months/>
            <sex/>
            <thanks/>
          </child>
          <meta>
            <instanceID/>
          </meta>
        </data>
      </instance>
      <bind nodeset="/data/consent" type="string" required="true()"/>
      <bind nodeset="/data/child" relevant="/data/consent = 'yes'"/>
      <bind nodeset="/data/child/age_months" type="int" required="true()"
            constraint=". &gt;= 0 and . &lt;= 72"
            jr:constraintMsg="jr:itext('/data/child/age_months:constraintMsg')"/>
      <bind nodeset="/data/child/sex" type="string"/>
      <bind nodeset="/data/child/thanks" type="string" readonly="true()"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
    </model>
  </h:head>
  <h:body>
    <select1 ref="/data/consent">
      <label ref="jr:itext('/data/consent:label')"/>
      <item><label ref="jr:itext('/data/consent/yes:label')"/><value>yes</value></item>
      <item><label ref="jr:itext('/data/consent/no:label')"/><value>no</value></item>
    </select1>
    <group ref="/data/child">
      <label ref="jr:itext('/data/child:label')"/>
      <input ref="/data/child/age_months">
        <label ref="jr:itext('/data/child/age_months:label')"/>
        <hint ref="jr:itext('/data/child/age_months:hint')"/>
      </input>
      <select1 ref="/data/child/sex">
        <label ref="jr:itext('/data/child/sex:label')"/>
        <item><label ref="jr:itext('/data/child/sex/female:label')"/><value>female</value></item>
        <item><label ref="jr:itext('/data/child/sex/male:label')"/><value>male</value></item>
      </select1>
      <input ref="/data/child/thanks">
        <label ref="jr:itext('/data/child/thanks:label')"/>
      </input>
    </group>
  </h:body>
</h:html>
`

// noItextForm has no translations: the engine has only its synthetic
// default language, which Check reports as no languages.
const noItextForm = `<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">
  <h:head>
    <h:title>plain</h:title>
    <model>
      <instance><data id="plain"><name/><total/></data></instance>
      <bind nodeset="/data/name" type="string"/>
      <bind nodeset="/data/total" type="string" calculate="concat('x', /data/name)"/>
    </model>
  </h:head>
  <h:body>
    <input ref="/data/name"><label>Name</label></input>
  </h:body>
</h:html>
`

// badBindForm binds a node that the instance does not have.
var badBindForm = strings.Replace(validForm,
	`<bind nodeset="/data/child/sex" type="string"/>`,
	`<bind nodeset="/data/child/sex" type="string"/>
      <bind nodeset="/data/child/weight_kg" type="decimal" required="true()"/>`, 1)

// badXPathForm has a relevant expression that does not parse.
var badXPathForm = strings.Replace(validForm,
	`relevant="/data/consent = 'yes'"`, `relevant="/data/consent = = 'yes'"`, 1)

// brokenXMLForm is not well-formed: the group is never closed.
var brokenXMLForm = strings.Replace(validForm, "</group>", "", 1)

// missingItextForm labels a question with an itext id that no translation
// has.
var missingItextForm = strings.Replace(validForm,
	`jr:itext('/data/child/sex:label')`, `jr:itext('/data/child/gender:label')`, 1)

// missingControlForm has a body control whose ref names no instance node.
var missingControlForm = strings.Replace(validForm,
	`<input ref="/data/child/thanks">`, `<input ref="/data/child/shoe_size">`, 1)

// unknownFunctionForm calls an XPath function that ODK does not have.
var unknownFunctionForm = strings.Replace(validForm,
	`relevant="/data/consent = 'yes'"`, `relevant="no_such_function(/data/consent) = 'yes'"`, 1)

// badTypeForm gives a bind a type ODK does not know.
var badTypeForm = strings.Replace(validForm,
	`<bind nodeset="/data/child/sex" type="string"/>`, `<bind nodeset="/data/child/sex" type="colour"/>`, 1)

// repeatForm has a repeat with relative refs, two instances in the primary
// instance and a group without a ref: 1 + 2×2 = 5 questions.
const repeatForm = `<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
        xmlns:jr="http://openrosa.org/javarosa">
  <h:head>
    <h:title>household</h:title>
    <model>
      <instance>
        <data id="household">
          <head_name/>
          <member jr:template=""><name/><age/></member>
          <member><name/><age/></member>
          <member><name/><age/></member>
          <count/>
        </data>
      </instance>
      <bind nodeset="/data/head_name" type="string" required="true()"/>
      <bind nodeset="/data/member/name" type="string"/>
      <bind nodeset="/data/member/age" type="int" constraint=". &lt; 120"/>
      <bind nodeset="/data/count" type="int" calculate="count(/data/member)"/>
    </model>
  </h:head>
  <h:body>
    <input ref="head_name"><label>Head of household</label></input>
    <group appearance="field-list">
      <label>Members</label>
      <repeat nodeset="/data/member">
        <input ref="name"><label>Name</label></input>
        <input ref="./age"><label>Age</label></input>
      </repeat>
    </group>
  </h:body>
</h:html>
`

// needTools skips (or, in CI, fails) when Chromium or npm is missing.
func needTools(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("installs ODK's form engine with npm and runs it in Chromium")
	}
	missing := func(what, install string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: CI installs it (%s)", what, install)
		}
		t.Skipf("the ODK engine check needs %s: %s", what, install)
	}
	if _, err := os.Stat(DefaultChromiumPath); err != nil {
		missing(DefaultChromiumPath, "apt-get install -y chromium")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		missing("npm", "apt-get install -y npm")
	}
}

// testCacheDir is the cache the tests share: KHULA_ODKCHECK_CACHE when set
// (CI can keep it between runs), else the default, so that a developer's
// second run is quick.
func testCacheDir() string {
	if d := os.Getenv("KHULA_ODKCHECK_CACHE"); d != "" {
		return d
	}
	return defaultCacheDir()
}

func TestCheck(t *testing.T) {
	needTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	start := time.Now()
	reports, err := Check(ctx, map[string][]byte{
		"valid.xml":            []byte(validForm),
		"no-itext.xml":         []byte(noItextForm),
		"bad-bind.xml":         []byte(badBindForm),
		"bad-xpath.xml":        []byte(badXPathForm),
		"broken-xml.xml":       []byte(brokenXMLForm),
		"missing-itext.xml":    []byte(missingItextForm),
		"missing-control.xml":  []byte(missingControlForm),
		"unknown-function.xml": []byte(unknownFunctionForm),
		"bad-type.xml":         []byte(badTypeForm),
		"repeat.xml":           []byte(repeatForm),
	}, Options{CacheDir: testCacheDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Check took %s", time.Since(start).Round(time.Millisecond))
	for _, name := range slices.Sorted(maps.Keys(reports)) {
		t.Logf("%s: %+v", name, reports[name])
	}
	if len(reports) != 10 {
		t.Fatalf("got %d reports, want 10", len(reports))
	}

	valid := reports["valid.xml"]
	if !valid.OK || len(valid.Errors) != 0 {
		t.Errorf("valid.xml: OK=%v errors=%q, want accepted", valid.OK, valid.Errors)
	}
	if valid.Questions != 4 {
		t.Errorf("valid.xml: %d questions, want 4 (consent, age_months, sex, thanks)", valid.Questions)
	}
	if want := []string{"English", "isiZulu"}; !slices.Equal(valid.Languages, want) {
		t.Errorf("valid.xml: languages %q, want %q", valid.Languages, want)
	}
	if valid.ActiveLanguage != "English" {
		t.Errorf("valid.xml: active language %q, want the default English", valid.ActiveLanguage)
	}

	plain := reports["no-itext.xml"]
	if !plain.OK || plain.Questions != 1 || len(plain.Languages) != 0 || plain.ActiveLanguage != "" {
		t.Errorf("no-itext.xml: %+v, want OK, 1 question, no languages", plain)
	}

	rep := reports["repeat.xml"]
	if !rep.OK || rep.Questions != 5 {
		t.Errorf("repeat.xml: %+v, want OK with 5 questions", rep)
	}

	// Each broken form is rejected with a message that says what is wrong.
	for name, want := range map[string]string{
		"bad-bind.xml":         `<bind nodeset="/data/child/weight_kg"> matches no node`,
		"bad-xpath.xml":        "Expression has syntax error: /data/consent = = 'yes'",
		"broken-xml.xml":       "XML is not well-formed",
		"missing-itext.xml":    `jr:itext('/data/child/gender:label') has no text in "English", "isiZulu"`,
		"missing-control.xml":  `<input ref="/data/child/shoe_size"> names no node`,
		"unknown-function.xml": "no_such_function",
		"bad-type.xml":         `type="colour">: not an ODK XForms type`,
	} {
		rep := reports[name]
		if rep.OK {
			t.Errorf("%s: accepted, want rejected", name)
			continue
		}
		if msg := strings.Join(rep.Errors, "\n"); !strings.Contains(msg, want) {
			t.Errorf("%s: errors %q, want one that says %q", name, rep.Errors, want)
		}
	}
}

// TestCheckEmpty needs neither npm nor a browser.
func TestCheckEmpty(t *testing.T) {
	reports, err := Check(context.Background(), nil, Options{})
	if err != nil || len(reports) != 0 {
		t.Fatalf("Check(nil) = %v, %v; want no reports, no error", reports, err)
	}
}

// TestEmbeddedEngine checks the npm project that Check installs: exact pins,
// a lock file that names only the npm registry, and the version constant.
func TestEmbeddedEngine(t *testing.T) {
	var pkg struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	b, err := engineFiles.ReadFile("engine/package.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	if got := pkg.Dependencies["@getodk/xforms-engine"]; got != EngineVersion {
		t.Errorf("package.json pins @getodk/xforms-engine %q, want EngineVersion %q", got, EngineVersion)
	}
	for name, v := range pkg.Dependencies {
		if strings.ContainsAny(v, "^~<>=*x ") {
			t.Errorf("package.json: %s %q is not an exact version", name, v)
		}
	}
	for name, v := range pkg.DevDependencies {
		if strings.ContainsAny(v, "^~<>=*x ") {
			t.Errorf("package.json: %s %q is not an exact version", name, v)
		}
	}
	if _, ok := pkg.DevDependencies["esbuild"]; !ok {
		t.Error("package.json: no esbuild to bundle with")
	}

	var lock struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			Version   string `json:"version"`
			Resolved  string `json:"resolved"`
			Integrity string `json:"integrity"`
		} `json:"packages"`
	}
	b, err = engineFiles.ReadFile("engine/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatal(err)
	}
	if got := lock.Packages["node_modules/@getodk/xforms-engine"].Version; got != EngineVersion {
		t.Errorf("package-lock.json has @getodk/xforms-engine %q, want %q", got, EngineVersion)
	}
	for path, p := range lock.Packages {
		if path == "" {
			continue
		}
		if !strings.HasPrefix(p.Resolved, "https://registry.npmjs.org/") {
			t.Errorf("package-lock.json: %s resolves to %q, want the npm registry", path, p.Resolved)
		}
		if !strings.HasPrefix(p.Integrity, "sha512-") {
			t.Errorf("package-lock.json: %s has no sha512 integrity", path)
		}
	}
}

// TestLockDir: the cache lock excludes a second holder until released.
func TestLockDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	ctx := context.Background()
	unlock, err := lockDir(ctx, path, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	released := false
	got := make(chan error, 1)
	go func() {
		u, err := lockDir(ctx, path, t.Logf)
		if err == nil {
			mu.Lock()
			if !released {
				err = os.ErrExist
			}
			mu.Unlock()
			u()
		}
		got <- err
	}()
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	released = true
	mu.Unlock()
	unlock()
	if err := <-got; err != nil {
		t.Fatalf("second holder: %v (it must wait for the first)", err)
	}

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	unlock, err = lockDir(ctx, path, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := lockDir(short, path, t.Logf); err == nil {
		t.Fatal("took a held lock")
	}
}
