#!/usr/bin/python3
"""Saves a workbook with a password to open, through LibreOffice's UNO API:
soffice --convert-to has no way to pass a password.

Usage: protect.py PIPE_NAME PASSWORD IN OUT FILTER
       protect.py --quit PIPE_NAME   (asks the listening LibreOffice to exit)
(LibreOffice must already listen on pipe PIPE_NAME; make-fixtures.sh starts it.
Run it with the system python3, which has the uno module of python3-uno.)
"""

import os
import sys
import time

import uno
from com.sun.star.beans import NamedValue, PropertyValue


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def named(name, value):
    v = NamedValue()
    v.Name, v.Value = name, value
    return v


def connect(pipe):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(120):
        try:
            return resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
        except Exception:
            time.sleep(0.5)
    raise SystemExit("LibreOffice did not start listening on pipe " + pipe)


def main():
    if sys.argv[1] == "--quit":
        ctx = connect(sys.argv[2])
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        try:
            desktop.terminate()
        except Exception:
            pass  # the bridge drops as LibreOffice exits
        return
    pipe, password, src, dst, filt = sys.argv[1:6]
    ctx = connect(pipe)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(src)), "_blank", 0,
                                       (prop("Hidden", True),))
    # The BIFF8 export encrypts (RC4 CryptoAPI) when handed a Password.
    args = (prop("FilterName", filt), prop("Password", password))
    if "2007" in filt:
        # The OOXML export encrypts only when handed EncryptionData naming the
        # password and the scheme; LibreOffice 7.4 writes ECMA-376 Standard
        # (AES-128) encryption, and fails on "Agile".
        args = (prop("FilterName", filt), prop("EncryptionData", uno.Any(
            "[]com.sun.star.beans.NamedValue",
            (named("OOXPassword", password), named("CryptoType", "Standard")))))
    try:
        # uno.invoke keeps the typed Any inside the PropertyValue.
        uno.invoke(doc, "storeToURL", (uno.systemPathToFileUrl(os.path.abspath(dst)), args))
    finally:
        doc.close(True)


if __name__ == "__main__":
    main()
