#!/usr/bin/env bash
# Rebuilds testdata/demo/ux-foundations-renewals.xlsx, the sample sheet of
# `credup demo`, with LibreOffice from the demo data (internal/demo). ISO
# dates in the source become real date cells. The output is committed.
#
#   apt-get install -y libreoffice-calc-nogui
#   testdata/gen/make-demo-sheet.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
go run testdata/gen/demo-sheet.go > "$work/ux-foundations-renewals.csv"
# Filter options: comma, double quote, UTF-8, first line 1, column formats
# (column 3, the expiry, as a YMD date; column 4 standard; the rest text).
soffice -env:UserInstallation="file://$work/profile" --headless \
	--infilter='CSV:44,34,76,1,1/2/2/2/3/5/4/1/5/2/6/2' \
	--convert-to xlsx:"Calc MS Excel 2007 XML" --outdir "$work/out" "$work/ux-foundations-renewals.csv" >/dev/null 2>&1
mv "$work/out/ux-foundations-renewals.xlsx" testdata/demo/
echo "wrote testdata/demo/ux-foundations-renewals.xlsx"
