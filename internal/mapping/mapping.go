// Package mapping finds the header row of an uploaded sheet and maps its
// columns to credential attributes: by what this tenant chose before
// (learned), by the attribute's key or template label (exact), by the names
// other tools use (synonym) or by a near name (fuzzy). Each suggestion says
// how it was made and with what confidence; the user's own choices are laid
// over the suggestions with Apply.
package mapping

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/credup/credup/internal/bulk"
)

// Confidence of each way of suggesting an attribute.
const (
	confExact    = 1.0
	confLearned  = 0.99
	confSynonym  = 0.95
	confFuzzyMax = 0.9
	confFuzzyMin = 0.6
)

// maxHeaderLen is the longest cell text still considered a header: longer
// texts are data (descriptions, notes) and not worth comparing.
const maxHeaderLen = 80

// Normalize is how headers are compared: lower case, diacritics removed,
// camelCase split, apostrophes dropped, other punctuation and underscores
// turned into spaces, spaces collapsed, trimmed. "E-mail Address" gives
// "e mail address", "recipientEmail" gives "recipient email".
func Normalize(header string) string {
	var b strings.Builder
	b.Grow(len(header))
	space := false // a space is pending before the next letter or digit
	prevLower := false
	for _, r := range norm.NFD.String(header) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == '\'' || r == '’' || r == 'ʼ':
			// "Student's Email" reads as "students email", not "student s email".
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if unicode.IsUpper(r) && prevLower {
				space = true
			}
			prevLower = unicode.IsLower(r)
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			if s, ok := folded[r]; ok {
				b.WriteString(s)
				continue
			}
			b.WriteRune(unicode.ToLower(r))
		default:
			space, prevLower = true, false
		}
	}
	return b.String()
}

// folded spells letters that carry no combining mark in ASCII.
var folded = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe",
	'ø': "o", 'Ø': "o", 'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d",
	'ð': "d", 'Ð': "d", 'þ': "th", 'Þ': "th", 'ı': "i",
}

// compact is a normalized text without its spaces: "e mail" and "email"
// are the same header.
func compact(normalized string) string {
	return strings.ReplaceAll(normalized, " ", "")
}

// name is one text an attribute may be headed by.
type name struct {
	attr       string
	normalized string
	compact    string
	words      []string
	runes      []rune // of compact
}

func newName(attr, text string) name {
	n := Normalize(text)
	c := compact(n)
	return name{attr: attr, normalized: n, compact: c, words: strings.Fields(n), runes: []rune(c)}
}

// matcher holds the names of one group's attributes.
type matcher struct {
	g       bulk.Group
	learned map[string]string
	exact   map[string]string // compact name → attribute
	synonym map[string]string // compact name → attribute
	names   []name            // every name, for fuzzy matching
}

// unrelatedHeaders are the unrelated names, normalized once.
var unrelatedHeaders = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range unrelated {
		m[compact(Normalize(s))] = true
	}
	return m
}()

func newMatcher(g bulk.Group, learned map[string]string) *matcher {
	m := &matcher{g: g, learned: learned, exact: map[string]string{}, synonym: map[string]string{}}
	keys := g.AttributeKeys()
	addExact := func(attr, text string) {
		n := newName(attr, text)
		if n.compact == "" {
			return
		}
		// The first attribute keeps a name two attributes share.
		if _, taken := m.exact[n.compact]; !taken {
			m.exact[n.compact] = attr
		}
		m.names = append(m.names, n)
	}
	for _, attr := range keys {
		addExact(attr, attr)
		addExact(attr, g.Label(attr))
		if key, ok := strings.CutPrefix(attr, bulk.CustomPrefix); ok {
			addExact(attr, key)
		}
	}
	for _, attr := range bulk.StandardAttributes {
		for _, s := range synonyms[attr] {
			n := newName(attr, s)
			if _, ok := m.exact[n.compact]; ok {
				continue
			}
			if _, ok := m.synonym[n.compact]; !ok {
				m.synonym[n.compact] = attr
			}
			m.names = append(m.names, n)
		}
	}
	return m
}

// suggest maps one header on its own, without regard to other columns.
func (m *matcher) suggest(header string) (attr, how string, conf float64) {
	if header == "" || len(header) > maxHeaderLen {
		return "", bulk.HowUnmapped, 0
	}
	n := Normalize(header)
	if a, ok := m.learned[n]; ok {
		if a == bulk.Skip {
			return bulk.Skip, bulk.HowSkip, confLearned
		}
		// A learned attribute the group no longer has is ignored.
		if _, ok := m.g.Kind(a); ok {
			return a, bulk.HowLearned, confLearned
		}
	}
	c := compact(n)
	if c == "" {
		return "", bulk.HowUnmapped, 0
	}
	if a, ok := m.exact[c]; ok {
		return a, bulk.HowExact, confExact
	}
	if a, ok := m.synonym[c]; ok {
		return a, bulk.HowSynonym, confSynonym
	}
	if unrelatedHeaders[c] {
		return "", bulk.HowUnmapped, 0
	}
	if a, conf := m.fuzzy(n, c); a != "" {
		return a, bulk.HowFuzzy, conf
	}
	return "", bulk.HowUnmapped, 0
}

// fuzzy finds the attribute whose name is nearest to a header, within a
// few typos. Two attributes equally near leave the header unmapped: a guess
// between them is no better than asking.
func (m *matcher) fuzzy(normalized, compacted string) (string, float64) {
	hr := []rune(compacted)
	hw := strings.Fields(normalized)
	best, bestConf, tie := "", 0.0, false
	for i := range m.names {
		n := &m.names[i]
		d, ok := near(hw, hr, n)
		if !ok {
			continue
		}
		conf := confFuzzyMax - 0.3*float64(d)/float64(len(n.runes))
		conf = max(conf, confFuzzyMin)
		switch {
		case conf > bestConf:
			best, bestConf, tie = n.attr, conf, false
		case conf == bestConf && n.attr != best:
			tie = true
		}
	}
	if tie {
		return "", 0
	}
	return best, bestConf
}

// allowed is how many typos a name of n letters may carry and still be
// recognised: none in very short names, one up to eight letters, two beyond.
// Within a name, a word under three letters must match exactly: "to", "on"
// and "by" are different words, not typos of each other.
func allowed(n int) int {
	switch {
	case n <= 3:
		return 0
	case n <= 8:
		return 1
	}
	return 2
}

// near reports whether a header is within typos of a name, and how far.
// Word by word when both have as many words, so "Issued By" is not
// "Issued On"; otherwise on the text without spaces, by one typo at most.
func near(hw []string, hr []rune, n *name) (int, bool) {
	limit := allowed(len(n.runes))
	if limit == 0 || abs(len(hr)-len(n.runes)) > limit {
		return 0, false
	}
	if len(hw) != len(n.words) {
		d := distance(hr, n.runes, 1)
		return d, d == 1
	}
	total := 0
	for i, w := range hw {
		nw := n.words[i]
		if w == nw {
			continue
		}
		wr, nr := utf8.RuneCountInString(w), utf8.RuneCountInString(nw)
		wl := 0
		if min(wr, nr) >= 3 {
			wl = allowed(max(wr, nr))
		}
		if wl == 0 && (w == nw+"s" || nw == w+"s") {
			// A plural of a short word: "IDs", "Marks".
			wl = 1
		}
		d := distance([]rune(w), []rune(nw), wl)
		if d > wl {
			return 0, false
		}
		total += d
	}
	return total, total >= 1 && total <= limit
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// distance is the optimal string alignment (restricted Damerau-Levenshtein)
// distance between a and b; any result above limit is reported as limit+1.
func distance(a, b []rune, limit int) int {
	if abs(len(a)-len(b)) > limit {
		return limit + 1
	}
	// Three rows of the dynamic programme: two back for transpositions.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit+1)
}

// Suggest maps each header to an attribute of the group, saying how and with
// what confidence. Precedence per column: learned, exact, synonym, fuzzy.
// Each attribute goes to one column at most: the most confident claim wins
// (the leftmost on a tie) and the other claimants are left unmapped.
func Suggest(headers []string, g bulk.Group, learned map[string]string) []bulk.Column {
	return newMatcher(g, learned).columns(headers)
}

func (m *matcher) columns(headers []string) []bulk.Column {
	cols := make([]bulk.Column, len(headers))
	winner := map[string]int{} // attribute → column holding it
	for i, h := range headers {
		h = strings.TrimSpace(h)
		attr, how, conf := m.suggest(h)
		cols[i] = bulk.Column{Index: i, Header: h, Attribute: attr, How: how, Confidence: conf}
		if attr == "" || attr == bulk.Skip {
			continue
		}
		w, taken := winner[attr]
		switch {
		case !taken:
			winner[attr] = i
		case conf > cols[w].Confidence:
			cols[w] = unmapped(cols[w])
			winner[attr] = i
		default:
			cols[i] = unmapped(cols[i])
		}
	}
	return cols
}

func unmapped(c bulk.Column) bulk.Column {
	c.Attribute, c.How, c.Confidence = "", bulk.HowUnmapped, 0
	return c
}

// FindHeader returns the index into rows of the header row: the row whose
// cells best match the group's attribute names, so title rows above a table
// ("UX Foundations — cohort 2024", then a blank row) are skipped. When no
// row names any attribute it is the first row that reads as a header (two
// or more cells, none of them data such as numbers, dates or emails), else
// 0.
func FindHeader(rows [][]string, g bulk.Group, learned map[string]string) int {
	m := newMatcher(g, learned)
	best, bestScore := -1, 0.0
	for i, row := range rows {
		score := 0.0
		for _, c := range m.columns(row) {
			switch c.How {
			case bulk.HowUnmapped:
			case bulk.HowSkip:
				// A header the tenant skipped before is still a header.
				score += c.Confidence / 2
			default:
				score += c.Confidence
			}
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best >= 0 {
		return best
	}
	for i, row := range rows {
		if headerLike(row) {
			return i
		}
	}
	return 0
}

// headerLike reports whether a row could head a table: at least two
// non-blank cells, none of which looks like a value.
func headerLike(row []string) bool {
	n := 0
	for _, cell := range row {
		cell = strings.TrimSpace(cell)
		if cell == "" {
			continue
		}
		if strings.Contains(cell, "@") || len(cell) > maxHeaderLen || !hasLetter(cell) {
			return false
		}
		n++
	}
	return n >= 2
}

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

// ColumnName returns how a mapping names column i of cols: its header, or
// "#N" when the header is blank, repeated, or itself looks like "#N".
func ColumnName(cols []bulk.Column, i int) string {
	c := cols[i]
	if c.Header == "" || isRef(c.Header) {
		return bulk.ColumnRef(c.Index)
	}
	unique := true
	for j, o := range cols {
		if j != i && o.Header == c.Header {
			unique = false
			break
		}
	}
	return c.Name(unique)
}

// isRef reports whether s is a positional column name, "#" and digits.
func isRef(s string) bool {
	rest, ok := strings.CutPrefix(s, "#")
	if !ok || rest == "" {
		return false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Apply lays the user's mapping over suggested columns. Each key of
// m.Columns names a column by its header (the exact text, or its Normalize
// form when only one column has it) or by "#N"; each value is an attribute
// of the group or "skip". The columns named become "assigned" or "skip"
// with confidence 1, and an attribute the user assigned is taken from any
// other column that was suggested it. cols is not changed.
func Apply(cols []bulk.Column, g bulk.Group, m bulk.Mapping) ([]bulk.Column, error) {
	out := slices.Clone(cols)
	if len(m.Columns) == 0 {
		return out, nil
	}
	keys := make([]string, 0, len(m.Columns))
	for k := range m.Columns {
		keys = append(keys, k)
	}
	slices.Sort(keys) // errors come out the same way every time

	byColumn := map[int]string{} // column position → value
	byAttr := map[string]int{}   // attribute → column position
	namedAs := map[int]string{}  // column position → key that named it
	for _, key := range keys {
		i, err := find(cols, key)
		if err != nil {
			return nil, err
		}
		value := strings.TrimSpace(m.Columns[key])
		if strings.EqualFold(value, bulk.Skip) {
			value = bulk.Skip
		} else if _, ok := g.Kind(value); !ok {
			return nil, bulk.Errorf(bulk.EInvalid, "column %q: unknown attribute %q; valid attributes are %s, or %s",
				key, value, strings.Join(g.AttributeKeys(), ", "), bulk.Skip)
		}
		if prev, ok := byColumn[i]; ok && prev != value {
			return nil, bulk.Errorf(bulk.EInvalid, "column %s is named twice, as %q and %q, with different attributes", ColumnName(cols, i), namedAs[i], key)
		}
		byColumn[i], namedAs[i] = value, key
		if value == bulk.Skip {
			continue
		}
		if j, ok := byAttr[value]; ok && j != i {
			return nil, bulk.Errorf(bulk.EInvalid, "attribute %s is assigned to two columns, %s and %s; assign it to one",
				value, ColumnName(cols, j), ColumnName(cols, i))
		}
		byAttr[value] = i
	}
	for i := range out {
		if value, ok := byColumn[i]; ok {
			how := bulk.HowAssigned
			if value == bulk.Skip {
				how = bulk.HowSkip
			}
			out[i].Attribute, out[i].How, out[i].Confidence = value, how, 1
			continue
		}
		if _, taken := byAttr[out[i].Attribute]; taken {
			out[i] = unmapped(out[i])
		}
	}
	return out, nil
}

// find returns the position in cols of the column a mapping key names.
func find(cols []bulk.Column, key string) (int, error) {
	k := strings.TrimSpace(key)
	if isRef(k) {
		n, err := strconv.Atoi(k[1:])
		if err == nil {
			for i, c := range cols {
				if c.Index == n-1 {
					return i, nil
				}
			}
		}
		return 0, unknownColumn(cols, key)
	}
	var same []int
	for i, c := range cols {
		if c.Header != "" && c.Header == k {
			same = append(same, i)
		}
	}
	if len(same) == 0 {
		if nk := Normalize(k); nk != "" {
			for i, c := range cols {
				if Normalize(c.Header) == nk {
					same = append(same, i)
				}
			}
		}
	}
	switch len(same) {
	case 0:
		return 0, unknownColumn(cols, key)
	case 1:
		return same[0], nil
	}
	refs := make([]string, len(same))
	for j, i := range same {
		refs[j] = bulk.ColumnRef(cols[i].Index)
	}
	return 0, bulk.Errorf(bulk.EInvalid, "column %q is repeated in the header; name the one you mean by position: %s",
		key, strings.Join(refs, " or "))
}

func unknownColumn(cols []bulk.Column, key string) error {
	names := make([]string, len(cols))
	for i := range cols {
		names[i] = strconv.Quote(ColumnName(cols, i))
	}
	if len(names) == 0 {
		return bulk.Errorf(bulk.EInvalid, "unknown column %q: the sheet has no columns", key)
	}
	return bulk.Errorf(bulk.EInvalid, "unknown column %q; the columns are %s", key, strings.Join(names, ", "))
}
