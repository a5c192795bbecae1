"""Reference for the parity harness's edit/write cases: Python's str.replace and os.stat.

Reads one JSON request (or a list of them) on stdin: {"op": "edit"|"write"|"state", "path": P, ...} and prints the file's
state after the operation: a first line `ok` or `<refused>`, then `mode=0oNNN`, then the content's
bytes as hex. The contract (docs/parity.md): exact strings, one match unless replace_all, the bytes
kept as they are (CRLF, BOM, final newline), the mode bits kept, symlinks and binary or non-UTF-8
files refused.
"""
import json
import os
import stat
import sys


def state(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "mode=absent\n"
    if stat.S_ISLNK(st.st_mode):
        return "mode=link\n" + os.readlink(path) + "\n"
    with open(path, "rb") as f:
        data = f.read()
    return "mode=%s\n%s\n" % (oct(stat.S_IMODE(st.st_mode)), data.hex())


def edit(req):
    path = req["path"]
    old, new = req["old_string"], req["new_string"]
    if old == "" or old == new or os.path.islink(path) or not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        raw = f.read()
    if b"\0" in raw[:8192]:
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    n = text.count(old)
    if n == 0 or (n > 1 and not req.get("replace_all")):
        return False
    text = text.replace(old, new) if req.get("replace_all") else text.replace(old, new, 1)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    with open(path, "wb") as f:
        f.write(text.encode("utf-8"))
    os.chmod(path, mode)
    return True


def write(req):
    path = req["path"]
    if os.path.islink(path) or os.path.isdir(path):
        return False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(req["content"])
    return True


def one(req):
    if req["op"] == "state":
        return state(req["path"])
    ok = edit(req) if req["op"] == "edit" else write(req)
    return ("ok" if ok else "<refused>") + "\n" + state(req["path"])


def main():
    # one request, or a list of them (answered as a JSON list: one process for a whole run)
    req = json.load(sys.stdin)
    if isinstance(req, list):
        json.dump([one(r) for r in req], sys.stdout)
    else:
        sys.stdout.write(one(req))


main()
