//go:build ignore

// demo-sheet writes the source CSV of the demo's sample sheet, from the
// demo data in internal/demo. make-demo-sheet.sh turns it into the XLSX.
package main

import (
	"encoding/csv"
	"os"

	"github.com/credup/credup/internal/demo"
)

func main() {
	w := csv.NewWriter(os.Stdout)
	_ = w.Write(demo.Header)
	_ = w.WriteAll(demo.Rows())
}
