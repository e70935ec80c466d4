#!/usr/bin/env python3
"""screenshot.py: a PNG of a whole HTML page as headless Chromium draws it at a given width,
for the README's picture of the report (demo.sh). Headless Chromium shoots the window only,
so the page is first laid out once to learn its height: a copy of it with a line of script
writes document height into the DOM that --dump-dom prints. The report itself has no script.

usage: screenshot.py PAGE.html OUT.png [WIDTH]      (exit 1 without chromium)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROBE = ('<script>document.body.insertAdjacentHTML("beforeend", "<pre id=page-height>" + '
         'document.documentElement.scrollHeight + "</pre>")</script>')


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[-1])
    page, png = sys.argv[1], sys.argv[2]
    width = int(sys.argv[3]) if len(sys.argv) == 4 else 1280
    exe = chromium()
    if not exe:
        print("screenshot.py: no chromium: %s not made" % png, file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="screenshot.")
    try:
        base = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--user-data-dir=" + work]
        probe = os.path.join(work, "probe.html")
        with open(page, encoding="utf-8") as f, open(probe, "w", encoding="utf-8") as out:
            out.write(f.read().replace("</body>", PROBE + "</body>"))
        r = subprocess.run(base + ["--window-size=%d,1000" % width, "--dump-dom",
                                   "file://" + probe], capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        m = re.search(r"<pre id=\"?page-height\"?>(\d+)</pre>", r.stdout)
        height = int(m.group(1)) if m else 4000
        r = subprocess.run(base + ["--window-size=%d,%d" % (width, height),
                                   "--screenshot=" + os.path.abspath(png),
                                   "file://" + os.path.abspath(page)],
                           capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0 or not os.path.exists(png):
            print("screenshot.py: chromium failed: %s" % r.stderr[-500:], file=sys.stderr)
            return 1
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
