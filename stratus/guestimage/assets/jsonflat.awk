# jsonflat.awk: print every scalar of one JSON document as "path<TAB>value".
# Runs in the guest under busybox awk (the image has no jq or python).
# Paths join object keys and array indexes with "." (public_keys.mykey,
# keys.0.data); strings are unescaped, with \n, \r and \t turned into spaces
# (so each value stays on one line) and \uXXXX outside printable ASCII into "?";
# null is not printed.  Tested against Python's json in
# tests/unit/test_guestimage_assets.py.
{ doc = doc $0 "\n" }
END { n = length(doc); pos = 1; value("") }

function ws() {
    while (pos <= n && index(" \t\r\n", substr(doc, pos, 1)) > 0) pos++
}

function value(path,   c, v) {
    ws(); c = substr(doc, pos, 1)
    if (c == "{") obj(path)
    else if (c == "[") arr(path)
    else if (c == "\"") emit(path, str())
    else if ((v = lit()) != "") emit(path, v)
}

function join(path, k) {
    if (path == "") return k
    return path "." k
}

function obj(path,   k, c) {
    pos++; ws()
    if (substr(doc, pos, 1) == "}") { pos++; return }
    while (pos <= n) {
        ws(); k = str(); ws(); pos++
        value(join(path, k))
        ws(); c = substr(doc, pos, 1); pos++
        if (c != ",") return
    }
}

function arr(path,   i, c) {
    pos++; ws()
    if (substr(doc, pos, 1) == "]") { pos++; return }
    for (i = 0; pos <= n; i++) {
        value(join(path, i))
        ws(); c = substr(doc, pos, 1); pos++
        if (c != ",") return
    }
}

function hexval(h,   i, v) {
    v = 0
    for (i = 1; i <= length(h); i++)
        v = v * 16 + index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
    return v
}

function str(   out, c, v) {
    pos++; out = ""
    while (pos <= n) {
        c = substr(doc, pos, 1); pos++
        if (c == "\"") return out
        if (c == "\\") {
            c = substr(doc, pos, 1); pos++
            if (c == "n" || c == "r" || c == "t") c = " "
            else if (c == "b" || c == "f") c = ""
            else if (c == "u") {
                v = hexval(substr(doc, pos, 4)); pos += 4
                c = (v >= 32 && v < 127) ? sprintf("%c", v) : "?"
            }
        }
        out = out c
    }
    return out
}

function lit(   start) {
    start = pos
    while (pos <= n && index(",}] \t\r\n", substr(doc, pos, 1)) == 0) pos++
    return substr(doc, start, pos - start)
}

function emit(path, v) {
    if (v != "null") print path "\t" v
}
