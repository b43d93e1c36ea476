// Package instruments holds the assessment instruments khula ships (the Child
// Well-being Tracking Tool, cwtt.yaml) and the JSON Schema they follow
// (instrument.schema.json), embedded so the binary carries them. Site variants
// live with their site (sites/<site>/instrument.yaml) and extend a base found
// here as <id>.yaml. Package internal/instrument loads and scores them.
package instruments

import "embed"

// FS holds the base instrument definitions (*.yaml) and instrument.schema.json.
//
//go:embed *.yaml instrument.schema.json
var FS embed.FS

// SchemaFile is the name of the JSON Schema inside FS.
const SchemaFile = "instrument.schema.json"
