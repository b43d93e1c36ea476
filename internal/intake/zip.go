package intake

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// MaxZipCSVBytes bounds the CSV CentralZipCSV opens (uncompressed).
const MaxZipCSVBytes = 512 << 20

// CentralZipCSV opens the submissions CSV inside an ODK Central export
// (submissions.csv.zip), for [Parse]. The archive holds <form>.csv, one
// <form>-<repeat>.csv per repeat group and a media/ folder; the form's own
// CSV is the top-level .csv with the shortest name. It returns the CSV and
// its name.
func CentralZipCSV(r io.ReaderAt, size int64) (io.ReadCloser, string, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, "", fmt.Errorf("intake: reading the ZIP archive: %w", err)
	}
	var main *zip.File
	for _, f := range zr.File {
		if strings.Contains(f.Name, "/") || !strings.EqualFold(path.Ext(f.Name), ".csv") {
			continue
		}
		if main == nil || len(f.Name) < len(main.Name) {
			main = f
		}
	}
	if main == nil {
		return nil, "", errors.New("intake: the ZIP archive holds no submissions CSV")
	}
	if main.UncompressedSize64 > MaxZipCSVBytes {
		return nil, "", fmt.Errorf("intake: %s is larger than %d bytes", main.Name, MaxZipCSVBytes)
	}
	rc, err := main.Open()
	if err != nil {
		return nil, "", fmt.Errorf("intake: opening %s: %w", main.Name, err)
	}
	return rc, main.Name, nil
}
