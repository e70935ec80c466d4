#!/usr/bin/env python3
"""Writes tlscensus(1) from the program's own --help texts, so the manual cannot say other
than the program: the command list from `tlscensus --help`, then each command's usage, text
and options from `tlscensus COMMAND --help`.

usage: mkman.py TLSCENSUS OUTPUT [VERSION]
"""
import datetime
import os
import re
import subprocess
import sys

OPTION = re.compile(r"^  (-\S.*?)(?:\s{2,}(.*))?$")
COMMAND = re.compile(r"^  ([a-z]+)\s+(.*)$")


def esc(text):
    """Text made inert for troff: backslashes, leading dots and quotes, hyphens."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def helptext(tc, args):
    r = subprocess.run([tc] + args + ["--help"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        sys.exit("mkman.py: %s %s --help: exit %d" % (tc, " ".join(args), r.returncode))
    return r.stdout


def commands(main_help):
    out, inside = [], False
    for line in main_help.splitlines():
        if line.strip() == "commands:":
            inside = True
            continue
        if inside:
            m = COMMAND.match(line)
            if not m:
                break
            out.append((m.group(1), m.group(2)))
    return out


def section(name, text):
    """One command's --help as a man page subsection: usage lines as a synopsis, paragraphs as
    text, option lines as tagged paragraphs (continuation lines joined to their option)."""
    lines = text.rstrip("\n").splitlines()
    out = [".SS %s" % esc(name)]
    usage = []
    while lines and (lines[0].startswith("usage:") or (usage and lines[0].startswith(" "))):
        usage.append(lines.pop(0).replace("usage: ", "", 1).strip())
    out += [".nf", ".B " + esc(" ".join(usage[:1]))] + [esc(u) for u in usage[1:]] + [".fi"]
    para = []
    opt = None

    def flush_para():
        if para:
            out.append(".PP")
            out.append(esc(" ".join(para)))
            para.clear()

    for line in lines:
        if not line.strip():
            flush_para()
            opt = None
            continue
        m = OPTION.match(line)
        if m and line.startswith("  -"):
            flush_para()
            out.append(".TP")
            out.append(".B " + esc(m.group(1).strip()))
            opt = [m.group(2) or ""]
            out.append(esc(opt[0]))
            continue
        if opt is not None and line.startswith("   "):
            out.append(esc(line.strip()))
            continue
        opt = None
        para.append(line.strip())
    flush_para()
    return out


def main():
    tc, output = sys.argv[1], sys.argv[2]
    version = sys.argv[3] if len(sys.argv) > 3 else ""
    main_help = helptext(tc, [])
    cmds = commands(main_help)
    if not cmds:
        sys.exit("mkman.py: no command list in %s --help" % tc)
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or None
    date = (datetime.datetime.utcfromtimestamp(epoch) if epoch else
            datetime.datetime(2026, 12, 1)).strftime("%Y-%m-%d")
    page = [
        '.\\" Written by man/mkman.py from the --help texts of tlscensus; do not edit.',
        '.TH TLSCENSUS 1 "%s" "tlscensus %s" "User Commands"' % (date, esc(version)),
        ".SH NAME",
        "tlscensus \\- passive TLS census: which clients still speak legacy TLS, to whom",
        ".SH SYNOPSIS",
        ".B tlscensus",
        ".I COMMAND",
        "[\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        esc("tlscensus reads pcap/pcapng files or a live interface, records what each TLS "
            "client offered and what was negotiated into an SQLite database, and lists the "
            "clients that still use legacy TLS, with who must change and by when."),
        ".SH COMMANDS",
    ]
    for name, what in cmds:
        page += [".TP", ".B " + esc(name), esc(what)]
    page.append(".SH OPTIONS")
    for name, _ in cmds:
        page += section(name, helptext(tc, [name]))
    tail = main_help.split("exit codes:", 1)
    if len(tail) == 2:
        page += [".SH EXIT STATUS", esc(" ".join(tail[1].split()))]
    page += [
        ".SH FILES",
        ".TP", ".I /var/lib/tlscensus/census.db",
        esc("the database of the packaged systemd units (tlscensus-capture@.service, "
            "tlscensus-report.timer)"),
        ".TP", ".I /usr/share/tlscensus/",
        esc("the built-in policies and the provider catalog as editable examples, for "
            "--policy FILE and --catalog FILE"),
        ".SH SEE ALSO",
        ".BR tcpdump (1),",
        ".BR sqlite3 (1),",
        ".BR systemd.service (5)",
    ]
    with open(output, "w") as f:
        f.write("\n".join(page) + "\n")


if __name__ == "__main__":
    main()
