package xls

import "strings"

// builtinDate reports whether a built-in number format ([MS-XLS] 2.4.126)
// shows a date or time: 14–17 dates, 18–21 times, 22 date and time, 45–47
// minutes and seconds. Built-in formats have no FORMAT record.
func builtinDate(id uint16) bool {
	return (id >= 14 && id <= 22) || (id >= 45 && id <= 47)
}

// isDateFormat reports whether a number format code shows a date: it has a
// day, month or year token outside quoted text, escapes and [bracketed]
// colours, locales and elapsed-time parts. Time-only codes such as "hh:mm"
// count as dates, since their "mm" cannot be told from months.
func isDateFormat(code string) bool {
	switch strings.ToLower(code) {
	case "general", "standard": // "Standard" is General in German-locale files
		return false
	}
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '"':
			if end := strings.IndexByte(code[i+1:], '"'); end >= 0 {
				i += end + 1
			} else {
				return false
			}
		case '[':
			if end := strings.IndexByte(code[i+1:], ']'); end >= 0 {
				i += end + 1
			} else {
				return false
			}
		case '\\', '_', '*':
			// \x is a literal character, _x a space as wide as x, *x fills with x.
			i++
		case 'd', 'D', 'm', 'M', 'y', 'Y':
			return true
		}
	}
	return false
}
