package intake

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxDepth is how deep JSON objects are read into paths; deeper values are
// skipped as one (the form contract nests one group level, Central's
// metadata two).
const maxDepth = 4

// parseJSON streams the submissions array of a Central OData document
// ("value") or a KoboToolbox data page ("results"). want is the format
// expected ("" for either).
func (p *parser) parseJSON(br *bufio.Reader, want Format) error {
	dec := json.NewDecoder(br)
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: not JSON: %v", ErrUnknownFormat, err)
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("%w: a JSON document that is not an object", ErrUnknownFormat)
	}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("intake: reading JSON: %w", truncated(err))
		}
		key, _ := tok.(string)
		var f Format
		switch key {
		case "value":
			f = FormatCentralJSON
		case "results":
			f = FormatKoboJSON
		}
		if f != "" && !found && (want == "" || want == f) {
			found = true
			p.setFormat(f)
			if err := p.streamArray(dec); err != nil {
				return err
			}
			continue
		}
		if err := skipValue(dec); err != nil {
			return fmt.Errorf("intake: reading JSON: %w", truncated(err))
		}
	}
	if !found {
		switch want {
		case FormatCentralJSON:
			return fmt.Errorf(`%w: a JSON object without the "value" array of ODK Central's OData feed`, ErrUnknownFormat)
		case FormatKoboJSON:
			return fmt.Errorf(`%w: a JSON object without the "results" array of KoboToolbox's data API`, ErrUnknownFormat)
		}
		return fmt.Errorf(`%w: a JSON object with neither ODK Central's "value" nor KoboToolbox's "results" array`, ErrUnknownFormat)
	}
	if _, err := dec.Token(); err != nil { // the closing brace: the document is whole
		return fmt.Errorf("intake: reading JSON: %w", truncated(err))
	}
	return nil
}

// streamArray reads the submissions one object at a time.
func (p *parser) streamArray(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("intake: reading JSON: %w", truncated(err))
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("%w: the submissions are not a JSON array", ErrUnknownFormat)
	}
	rec := newRecord()
	for n := 1; dec.More(); n++ {
		if err := p.startRow(); err != nil {
			return err
		}
		rec.reset(n)
		isObject, err := readRecord(dec, rec)
		if err != nil {
			return fmt.Errorf("intake: row %d: reading JSON: %w", n, truncated(err))
		}
		if !isObject {
			p.rowError(n, "", "not a JSON object")
			continue
		}
		if err := p.handle(rec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // ]
		return fmt.Errorf("intake: reading JSON: %w", truncated(err))
	}
	return nil
}

// readRecord reads one array element, flattening an object into rec.
func readRecord(dec *json.Decoder, rec *record) (bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	switch tok {
	case json.Delim('{'):
		return true, readObject(dec, rec, "", 1)
	case json.Delim('['):
		return false, skipRest(dec)
	}
	return false, nil
}

// readObject reads the members of an object whose '{' was read, adding
// them under prefix, and its closing '}'.
func readObject(dec *json.Decoder, rec *record, prefix string, depth int) error {
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return errors.New("object key is not a string")
		}
		path := key
		if prefix != "" {
			path = prefix + "/" + key
		}
		if tok, err = dec.Token(); err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' && depth < maxDepth {
				if err := readObject(dec, rec, path, depth+1); err != nil {
					return err
				}
				continue
			}
			if err := skipRest(dec); err != nil {
				return err
			}
			rec.add(path, value{kind: kindComplex})
		case string:
			rec.add(path, value{kind: kindString, s: t})
		case json.Number:
			rec.add(path, value{kind: kindNumber, s: t.String()})
		case bool:
			rec.add(path, value{kind: kindBool, b: t})
		case nil:
			rec.add(path, value{kind: kindNull})
		}
	}
	_, err := dec.Token() // }
	return err
}

// skipValue skips the next value, whatever it is.
func skipValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); ok && (d == '{' || d == '[') {
		return skipRest(dec)
	}
	return nil
}

// skipRest skips to the end of an object or array whose opening was read,
// without recursion (the nesting may be deep).
func skipRest(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// truncated reports a document that ends early as such (a download cut off),
// not as a plain end of input.
func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
