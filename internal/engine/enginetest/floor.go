package enginetest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/xuri/excelize/v2"
)

// The floors validation is measured against: reading the same files with
// the plain libraries and doing nothing with the values.

// FloorCSV reads every record of a CSV with encoding/csv and counts them.
func FloorCSV(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	rows := 0
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, fmt.Errorf("read %s: %w", path, err)
		}
		rows++
	}
}

// FloorXLSX reads every row of the first sheet ("Sheet1") with excelize's
// OpenFile, Rows and Columns, and counts them.
func FloorXLSX(path, tmpDir string) (int, error) {
	f, err := excelize.OpenFile(path, excelize.Options{UnzipSizeLimit: 1 << 30, UnzipXMLSizeLimit: 64 << 20, TmpDir: tmpDir})
	if err != nil {
		return 0, err
	}
	defer f.Close()
	it, err := f.Rows("Sheet1")
	if err != nil {
		return 0, err
	}
	defer it.Close()
	rows := 0
	for it.Next() {
		if _, err := it.Columns(excelize.Options{RawCellValue: true}); err != nil {
			return rows, err
		}
		rows++
	}
	return rows, it.Error()
}
