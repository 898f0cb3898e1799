package xls

import "fmt"

// Sheet types of a BOUNDSHEET record.
const sheetWorksheet = 0x00 // worksheet or dialog sheet; 1 macro, 2 chart, 6 VBA module

// parseGlobals reads the workbook globals substream: sheet list, shared
// strings, cell formats and date system.
func parseGlobals(data []byte) (*Workbook, error) {
	rec, err := recordAt(data, 0)
	if err != nil {
		return nil, err
	}
	if err := checkBOF(rec, bofGlobals); err != nil {
		return nil, err
	}
	w := &Workbook{data: data}
	var (
		xfFormats []uint16            // number format index of each XF, in order
		formats   = map[uint16]bool{} // custom number formats: does it show a date
	)
	for off := rec.next(); ; {
		rec, err := recordAt(data, off)
		if err != nil {
			return nil, fmt.Errorf("workbook globals: %w", err)
		}
		off = rec.next()
		switch rec.typ {
		case recEOF:
			w.xfDate = make([]bool, len(xfFormats))
			for i, f := range xfFormats {
				w.xfDate[i] = builtinDate(f) || formats[f]
			}
			return w, nil
		case recFilePass:
			// Everything after FILEPASS is encrypted; nothing more can be read.
			return nil, ErrEncrypted
		case recDateMode:
			w.date1904 = len(rec.body) >= 2 && le16(rec.body) == 1
		case recBoundSheet:
			if err := w.addSheet(rec); err != nil {
				return nil, err
			}
		case recFormat:
			if len(rec.body) < 2 {
				return nil, fmt.Errorf("%w: FORMAT record at offset %d has %d bytes", ErrCorrupt, rec.off, len(rec.body))
			}
			c := &continued{segs: [][]byte{rec.body[2:]}, off: rec.off}
			code, err := c.unicodeString()
			if err != nil {
				return nil, fmt.Errorf("number format: %w", err)
			}
			formats[le16(rec.body)] = isDateFormat(code)
		case recXF:
			if len(rec.body) < 4 {
				return nil, fmt.Errorf("%w: XF record at offset %d has %d bytes", ErrCorrupt, rec.off, len(rec.body))
			}
			xfFormats = append(xfFormats, le16(rec.body[2:]))
		case recSST:
			if w.sst, err = readSST(data, rec); err != nil {
				return nil, err
			}
		case recBOF:
			return nil, fmt.Errorf("%w: workbook globals at offset %d lack an EOF record", ErrCorrupt, rec.off)
		}
	}
}

// addSheet records a BOUNDSHEET8: where a sheet's substream starts, whether
// it is hidden, its type and name. Only worksheets are kept.
func (w *Workbook) addSheet(rec record) error {
	b := rec.body
	if len(b) < 6 {
		return fmt.Errorf("%w: BOUNDSHEET record at offset %d has %d bytes", ErrCorrupt, rec.off, len(b))
	}
	if b[5] != sheetWorksheet {
		return nil
	}
	name, err := shortString(b[6:], rec.off)
	if err != nil {
		return err
	}
	pos := le32(b)
	if int64(pos) >= int64(len(w.data)) {
		return fmt.Errorf("%w: sheet %q starts at offset %d, past the %d-byte stream", ErrCorrupt, name, pos, len(w.data))
	}
	w.sheets = append(w.sheets, sheet{name: name, offset: int(pos), visible: b[4]&0x03 == 0})
	return nil
}

// readSST reads the shared-string table: an SST record and the CONTINUE
// records after it.
func readSST(data []byte, rec record) ([]string, error) {
	if len(rec.body) < 8 {
		return nil, fmt.Errorf("%w: SST record at offset %d has %d bytes", ErrCorrupt, rec.off, len(rec.body))
	}
	count := le32(rec.body[4:]) // cstUnique: strings in the table
	c := continuedAt(data, rec)
	c.pos = 8
	total := 0
	for _, s := range c.segs {
		total += len(s)
	}
	// Each string takes at least 3 bytes, so the count the file claims cannot
	// make us allocate more than the records hold.
	strs := make([]string, 0, min(int64(count), int64(total/3)))
	var units []uint16
	for i := uint32(0); i < count; i++ {
		if c.atEnd() {
			// Some writers overstate the count; a reference past the strings
			// that are there is caught when a cell uses it.
			break
		}
		s, buf, err := c.richString(units)
		if err != nil {
			return nil, fmt.Errorf("shared string %d: %w", i, err)
		}
		units = buf
		strs = append(strs, s)
	}
	return strs, nil
}
