#!/usr/bin/env bash
# Rebuilds the spreadsheet fixtures in testdata/sheets/ with real spreadsheet
# programs. The outputs are committed: tests never need these programs.
#
#   apt-get install -y libreoffice-calc-nogui gnumeric python3-uno
#   testdata/gen/make-fixtures.sh
#
# Sources: fods.py writes typed flat-ODF workbooks (a CSV cannot say that a
# cell is a date, that "000123" is text, or that a cell is a formula, and the
# two programs would each guess differently). LibreOffice converts them
# directly; Gnumeric cannot read flat ODF, so it reads the .ods LibreOffice
# makes of each source and writes its own .xls/.xlsx from that.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../sheets" && pwd)
work=$(mktemp -d)
# A private LibreOffice profile, so a desktop session's settings never leak in.
profile="file://$work/profile"
soffice_pid=
cleanup() {
	if [[ -n $soffice_pid ]]; then kill "$soffice_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

for tool in soffice ssconvert /usr/bin/python3; do
	command -v "$tool" >/dev/null || { echo "make-fixtures: $tool not found" >&2; exit 1; }
done

convert() { # convert SRC FORMAT:FILTER[:OPTIONS] DEST
	local src=$1 to=$2 dest=$3 dir="$work/convert"
	rm -rf "$dir"
	soffice -env:UserInstallation="$profile" --headless --convert-to "$to" --outdir "$dir" "$src" >/dev/null 2>&1
	mv "$dir"/* "$dest"
}

gnumeric() { # gnumeric SRC.ods EXPORTER DEST
	ssconvert --export-type="$2" "$1" "$3" 2>/dev/null
}

python3 "$here/fods.py" "$work/src"
src=$work/src
for f in "$src"/*.fods; do
	convert "$f" ods "$work/$(basename "${f%.fods}").ods"
done

xlsx='xlsx:Calc MS Excel 2007 XML'
xls='xls:MS Excel 97'

# Credentials: dates as real date cells (custom YYYY-MM-DD format), numbers,
# text IDs with leading zeros, accents and non-Latin-1 names, a blank row.
convert "$src/credentials.fods" "$xlsx" "$out/credentials-libreoffice.xlsx"
convert "$src/credentials.fods" "$xls" "$out/credentials-libreoffice.xls"
gnumeric "$work/credentials.ods" Gnumeric_Excel:xlsx2 "$out/credentials-gnumeric.xlsx"
gnumeric "$work/credentials.ods" Gnumeric_Excel:excel_biff8 "$out/credentials-gnumeric.xls"

# The 1904 date system: the source sets <table:null-date table:date-value=
# "1904-01-01"/>, which LibreOffice writes as date1904 (XLSX) and DATEMODE
# (XLS). Gnumeric reads the setting but writes the 1900 system, so only
# LibreOffice makes these.
convert "$src/dates-1904.fods" "$xlsx" "$out/dates-1904.xlsx"
convert "$src/dates-1904.fods" "$xls" "$out/dates-1904.xls"

# A title row and an empty row above the header.
convert "$src/titled-header.fods" "$xlsx" "$out/titled-header.xlsx"

# Formulas with cached results (numbers, booleans, strings, empty strings, a
# #DIV/0! error), literal booleans, and 460 learners whose distinct names and
# emails make a shared-string table that spans CONTINUE records.
convert "$src/formulas.fods" "$xls" "$out/formulas-libreoffice.xls"
gnumeric "$work/formulas.ods" Gnumeric_Excel:excel_biff8 "$out/formulas-gnumeric.xls"

# Text exports. LibreOffice's CSV filter options are: field separator, text
# delimiter, character set (1 = Windows-1252, 76 = UTF-8, 65535 = UTF-16).
# UTF-16 is written little-endian with a BOM, like Excel's "Unicode Text".
convert "$src/credentials.fods" 'txt:Text - txt - csv (StarCalc):9,34,65535' "$out/unicode-text.txt"
convert "$src/credentials-western.fods" 'csv:Text - txt - csv (StarCalc):44,34,1' "$out/windows-1252.csv"
# As a French user's spreadsheet saves it: ';' because ',' is the decimal mark.
convert "$src/credentials-fr.fods" 'csv:Text - txt - csv (StarCalc):59,34,76' "$out/semicolon.csv"
# LibreOffice 7.4 has no option to write a UTF-8 BOM (7.6 added one) and
# Gnumeric has none either, so the BOM that Excel's "CSV UTF-8" writes is
# prepended to LibreOffice's UTF-8 export.
convert "$src/credentials.fods" 'csv:Text - txt - csv (StarCalc):44,34,76' "$work/utf8.csv"
{ printf '\xEF\xBB\xBF'; cat "$work/utf8.csv"; } >"$out/utf8-bom.csv"

# Password-protected (password "credup"): soffice --convert-to cannot pass a
# password, so protect.py saves through the UNO API of a listening soffice.
soffice -env:UserInstallation="$profile" --headless --invisible --norestore \
	"--accept=pipe,name=credup-fixtures-$$;urp;" >/dev/null 2>&1 &
soffice_pid=$!
/usr/bin/python3 "$here/protect.py" "credup-fixtures-$$" credup "$src/credentials.fods" "$out/protected.xls" "MS Excel 97"
/usr/bin/python3 "$here/protect.py" "credup-fixtures-$$" credup "$src/credentials.fods" "$out/protected.xlsx" "Calc MS Excel 2007 XML"
/usr/bin/python3 "$here/protect.py" --quit "credup-fixtures-$$"
wait "$soffice_pid" || true
soffice_pid=

echo "fixtures written to $out with $(soffice --version | head -1) and Gnumeric $(ssconvert --version | head -1 | tr -dc '0-9.')"
