#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Call stacks against frame pointers, sample by sample (issue 23,
# "Exactness"): hwchain (qemu/guest/hwchain.c: deep chains, recursion,
# calls through pointers and into and back out of libhwchain.so, all built
# with frame pointers) recorded per process with
#   perf record -e lbrctx/callstack/ --call-graph lbr -F 2000
# Each sample holds both stacks: PERF_SAMPLE_CALLCHAIN, the kernel's
# frame-pointer walk of the user stack ("... FP chain" in perf report -D:
# after PERF_CONTEXT_USER, the IP and then the return addresses), and the
# LBR in call-stack mode ("... branch callstack": the youngest entry's TO,
# then every entry's FROM, the call sites). With the load bases of the
# samples' mmap events and the program's and library's own disassembly
# (objdump -d), every sample whose IP is in their code must have:
#   - the function of the IP = the function of the youngest entry's TO
#     (a PLT stub counts as its target's), and the caller function of
#     each FP return address = the function of the corresponding entry's
#     FROM, down to main; both chains reach main;
#   - each FP return address = the address right after the call
#     instruction at the corresponding FROM (the call sites, exactly).
# Excluded, and counted (skipped_prologue): samples whose IP is where the
# frame-pointer walk itself is known to miss the caller's frame: from the
# function's entry up to and including its `mov %rsp,%rbp` (the frame
# pointer is still the caller's), after its `pop %rbp` or `leave` up to
# its `ret`, anywhere in a PLT stub or a function that sets up no frame.
# Those must show exactly that: the LBR chain is the FP chain with the
# caller added.
#
# Run by hw.sh in its directory (/tmp/out, with lib.sh, hwchain and
# libhwchain.so: scripts/lib.sh build_hwchain) with lbrctx loaded
# (source=hw). PERF: the perf to use (perf in PATH). HWCHAIN_SECONDS (3)
# and HWCHAIN_SPIN_US (300): the program's run and its leaves' spin.
# Results: hw/hwchain-results.txt ("ok NAME" / "FAIL NAME: why"), the line
# hw/hwchain.txt (samples: those with the IP in the program's or library's
# code, = equal + differing + skipped_prologue; max_depth: the deepest FP
# chain compared, in frames, main included), the details (every count, the
# samples outside that code: ld.so, libc, the vDSO, the C run time, before
# the exec; examples of each kind of sample) in hw/hwchain-compare.txt.
set -u
out=$(pwd)
art=$out/hw
mkdir -p "$art"
RESULTS=$art/hwchain-results.txt
. ./lib.sh
: >"$RESULTS"
: >"$art/hwchain.txt"
PERF=${PERF:-perf}
work=/tmp/hwchain
rm -rf $work
mkdir -p $work
echo -1 >/proc/sys/kernel/perf_event_paranoid 2>/dev/null

# The program and its library on tmpfs (the results share is 9p).
cp ./hwchain ./libhwchain.so $work/ && chmod 755 $work/hwchain $work/libhwchain.so
cp_rc=$?
$PERF record -B -N -q -e lbrctx/callstack/ --call-graph lbr -F 2000 -o $work/hwchain.data -- \
	$work/hwchain "${HWCHAIN_SECONDS:-3}" "${HWCHAIN_SPIN_US:-300}" >$art/hwchain-record.txt 2>&1
rc=$?
[ $cp_rc -eq 0 ] || rc=$cp_rc
[ -s $work/hwchain.data ] || [ $rc -ne 0 ] || rc=1
check hwchain_records $rc "cp rc=$cp_rc, perf record rc=$rc: $(tail -n 3 $art/hwchain-record.txt | tr '\n' ' ')"
$PERF report -D -i $work/hwchain.data >$work/dump.txt 2>$art/hwchain-dump.err
grep -m 3 -E 'PERF_RECORD_MMAP2? .*hwchain' $work/dump.txt >$art/hwchain-mmaps.txt

# The comparison: $work/summary.sh (shell assignments), the first differing
# sample's chains for the FAIL lines, the details in hwchain-compare.txt.
python3 - $work/dump.txt $work/summary.sh $art $work/hwchain $work/libhwchain.so \
	>$art/hwchain-compare.txt 2>&1 <<'EOF'
import bisect, os, re, subprocess, sys
from collections import Counter

dump, summary, art, prog, lib = sys.argv[1:6]
CTX_USER = 0xfffffffffffffe00
CTX_MAX = 0xfffffffffffff001          # PERF_CONTEXT_MAX (-4095): markers above
# The C run time's code in the program and the library: before main and
# after it, not the chains measured.
CRT = {"_start", "_init", "_fini", "frame_dummy", "register_tm_clones",
       "deregister_tm_clones", "__do_global_dtors_aux", "_dl_relocate_static_pie"}

def norm(t):
    t = t.split("#")[0]
    return " ".join(t.split())

class Obj:
    def __init__(self, path):
        self.path = os.path.realpath(path)
        self.name = os.path.basename(path)
        self.loads = []
        for l in subprocess.run(["readelf", "-lW", path], capture_output=True,
                                text=True).stdout.splitlines():
            f = l.split()
            if f and f[0] == "LOAD":
                self.loads.append((int(f[1], 16), int(f[2], 16), int(f[4], 16)))
        self.starts, self.funcs = [], []   # sorted starts; (name, kind, end)
        self.insns = {}                    # vaddr -> (length, text)
        self.skip = {}                     # IPs where the FP walk misses the caller
        sec, cur = "", None
        funcs = []
        dis = subprocess.run(["objdump", "-d", "-w", "--insn-width=16", path],
                             capture_output=True, text=True).stdout
        for l in dis.splitlines():
            m = re.match(r"Disassembly of section (\S+):", l)
            if m:
                sec = m.group(1)
                continue
            m = re.match(r"^([0-9a-f]+) <(.+)>:$", l)
            if m:
                cur = [int(m.group(1), 16), m.group(2), sec, []]
                funcs.append(cur)
                continue
            m = re.match(r"^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} ?)+)\t?(.*)$", l)
            if m and cur is not None:
                a = int(m.group(1), 16)
                n = len(m.group(2).split())
                t = norm(m.group(3))
                self.insns[a] = (n, t)
                cur[3].append((a, n, t))
        funcs.sort()
        for i, (s, name, sec, ins) in enumerate(funcs):
            end = ins[-1][0] + ins[-1][1] if ins else s
            if sec.startswith(".plt"):
                kind = "plt"
                name = name.split("@plt")[0] if re.search(r"@plt$", name) else ".plt"
            elif name in CRT:
                kind = "crt"
            else:
                kind = "fn"
            self.starts.append(s)
            self.funcs.append((name, kind, end))
            texts = [t for _, _, t in ins]
            # The frame: push %rbp; mov %rsp,%rbp at the entry.
            frame = None
            for j, t in enumerate(texts[:4]):
                if t == "mov %rsp,%rbp" and "push %rbp" in texts[:j]:
                    frame = j
                    break
            if kind == "plt" or frame is None:
                self.skip.update((a, kind == "plt" and "plt" or "frameless") for a, _, _ in ins)
                continue
            self.skip.update((a, "prologue") for a, _, _ in ins[:frame + 1])
            for j, t in enumerate(texts):
                if t in ("pop %rbp", "leave", "leaveq"):
                    for a, _, t2 in ins[j + 1:]:
                        self.skip[a] = "epilogue"
                        if set(t2.split()[:2]) & {"ret", "retq"}:
                            break

    def vaddr(self, off):
        for o, v, n in self.loads:
            if o <= off < o + n:
                return off - o + v
        return None

    def func(self, v):
        i = bisect.bisect_right(self.starts, v) - 1
        if i < 0 or v >= self.funcs[i][2]:
            return None
        return self.starts[i], self.funcs[i]

objs = [Obj(prog), Obj(lib)]
byname = {o.path: o for o in objs}

# Mmaps (first pass: the samples of two CPUs' buffers interleave with them).
maps = {}
mre = re.compile(r"PERF_RECORD_MMAP2? (-?\d+)/-?\d+: \[(0x[0-9a-f]+)\((0x[0-9a-f]+)\) @ (0x[0-9a-f]+|0)\b.*\]: \S+ (.+)$")
with open(dump, errors="replace") as f:
    for l in f:
        if "PERF_RECORD_MMAP" in l:
            m = mre.search(l)
            if m:
                pid, s, n, pg, path = m.groups()
                maps.setdefault(int(pid), []).append(
                    (int(s, 16), int(s, 16) + int(n, 16), int(pg, 16), path.strip()))

class Loc:
    def __init__(self, a, pid):
        self.a, self.obj, self.v, self.name, self.kind, self.off = a, None, None, None, None, 0
        for s, e, pg, path in reversed(maps.get(pid, [])):
            if s <= a < e:
                o = byname.get(os.path.realpath(path)) if path.startswith("/") else None
                if o is None:
                    self.name, self.kind, self.off = os.path.basename(path), "dso", a - s + pg
                    return
                self.obj = o
                self.v = o.vaddr(a - s + pg)
                fn = o.func(self.v) if self.v is not None else None
                if fn:
                    self.name, self.kind, self.off = fn[1][0], fn[1][1], self.v - fn[0]
                else:
                    self.name, self.kind, self.off = o.name, "dso", self.v or 0
                return
        self.name, self.kind = "?", "none"

    def key(self):
        # The function's name: the program's and the library's are all
        # different, and a PLT stub is named after its target.
        return self.name if self.obj else "%s:%s" % (self.kind, self.name)

    def is_main(self):
        return self.obj is objs[0] and self.name == "main"

    def __str__(self):
        if self.kind == "none":
            return "%#x" % self.a
        return "%s%s+%#x" % (self.name, "@plt" if self.kind == "plt" else "", self.off)

def trunc(chain):
    """The chain down to main (inclusive), and whether it reached main."""
    for i, l in enumerate(chain):
        if l.is_main():
            return chain[:i + 1], True
    return chain, False

def same(a, b):
    (ta, ma), (tb, mb) = trunc(a), trunc(b)
    return ma and mb and [l.key() for l in ta] == [l.key() for l in tb]

def first_diff(a, b):
    ta, tb = trunc(a)[0], trunc(b)[0]
    for i in range(max(len(ta), len(tb))):
        if i >= len(ta) or i >= len(tb) or ta[i].key() != tb[i].key():
            return i
    return -1

def show(chain, limit=40):
    t, m = trunc(chain)
    s = " <- ".join(str(l) for l in t[:limit])
    return s + ("" if m else " (no main)")

# The samples.
hre = re.compile(r"PERF_RECORD_SAMPLE\(IP, (0x[0-9a-f]+)\): (-?\d+)/(-?\d+): (0x[0-9a-f]+)")
ere = re.compile(r"^\.\.\.\.\. +\d+: ([0-9a-f]+)")
samples = []
cur, block = None, None
with open(dump, errors="replace") as f:
    for l in f:
        m = hre.search(l)
        if m:
            cur = {"misc": int(m.group(1), 16), "pid": int(m.group(2)), "tid": int(m.group(3)),
                   "ip": int(m.group(4), 16), "time": l.split()[0], "fp": None, "lbr": None,
                   "brmode": None}
            samples.append(cur)
            block = None
            continue
        if cur is None:
            continue
        if l.startswith("... FP chain:"):
            cur["fp"], block = [], "fp"
        elif l.startswith("... branch callstack:"):
            cur["lbr"], block, cur["brmode"] = [], "lbr", "callstack"
        elif l.startswith("... branch stack:"):
            cur["lbr"], block, cur["brmode"] = [], None, "branch stack"
        elif l.startswith("... LBR call chain:"):
            block = None
        elif l.startswith("....."):
            m = ere.match(l)
            if m and block:
                cur[block].append(int(m.group(1), 16))
        elif not l.startswith(" ..."):
            cur, block = None, None

n_all = len(samples)
outside = Counter()
kernel_mode = 0
n = equal = differ = skipped = skipped_ok = 0
sites_bad = 0
max_depth = deep = rec = ptr = lib_cross = 0
brmodes, leaves, skip_kinds = Counter(), Counter(), Counter()
skip_ex, examples = [], {}
diffs, skip_bad, site_bad = [], [], []
for idx, s in enumerate(samples):
    fp = s["fp"] or []
    if CTX_USER not in fp:
        outside["no user chain"] += 1
        continue
    user = [a for a in fp[fp.index(CTX_USER) + 1:] if a < CTX_MAX]
    if not user:
        outside["no user chain"] += 1
        continue
    pid = s["pid"]
    fpc = [Loc(a, pid) for a in user]
    leaf = fpc[0]
    if leaf.obj is None or leaf.kind in ("crt", "dso"):
        outside[{"crt": "C run time", "none": "unmapped (before exec)"}.get(leaf.kind, leaf.name)] += 1
        continue
    n += 1
    if s["misc"] & 7 == 1:
        kernel_mode += 1
    brmodes[s["brmode"]] += 1
    lbr = s["lbr"] or []
    lbc = [Loc(a, pid) for a in lbr]
    desc = "sample %d (time %s tid %d ip %#x)" % (idx, s["time"], s["tid"], user[0])
    leaves[leaf.name] += 1
    if leaf.v in leaf.obj.skip:
        skipped += 1
        skip_kinds[leaf.obj.skip[leaf.v]] += 1
        if same(fpc, lbc[:1] + lbc[2:]) or same(fpc, lbc):
            skipped_ok += 1
            if len(skip_ex) < 3:
                skip_ex.append((desc + " " + leaf.obj.skip[leaf.v], lbc, fpc))
        else:
            skip_bad.append((desc, lbc, fpc))
        continue
    ft = trunc(fpc)[0]
    max_depth = max(max_depth, len(ft))
    if not same(fpc, lbc):
        differ += 1
        diffs.append((desc, lbc, fpc))
        continue
    equal += 1
    # The call sites: each FP return address follows its FROM's call.
    bad = None
    for k in range(1, len(ft)):
        frm, ret = lbr[k], user[k]
        lf = lbc[k]
        ins = lf.obj.insns.get(lf.v) if lf.obj else None
        if not ins or not ins[1].startswith("call") or frm + ins[0] != ret:
            bad = "frame %d: FROM %#x (%s: %s) return address %#x" % (
                k, frm, lf, ins[1] if ins else "not an instruction", ret)
            break
    if bad:
        sites_bad += 1
        site_bad.append((desc, bad, lbc, fpc))
    # Coverage.
    names = [l.name for l in ft]
    if len(ft) > deep:
        examples["deepest"] = (desc, lbc, fpc)
    deep = max(deep, len(ft))
    if names.count("rec") > rec:
        examples["recursion"] = (desc, lbc, fpc)
    rec = max(rec, names.count("rec"))
    links = 0
    for k in range(1, len(ft)):
        ins = lbc[k].obj.insns.get(lbc[k].v) if lbc[k].obj else None
        if ins and re.match(r"call \*%", ins[1]):
            links += 1
    if links > ptr:
        examples["pointers"] = (desc, lbc, fpc)
    ptr = max(ptr, links)
    if leaf.obj is objs[1]:
        cross = sum(1 for k in range(1, len(ft)) if ft[k].obj is not ft[k - 1].obj)
        if cross > lib_cross:
            examples["library"] = (desc, lbc, fpc)
        lib_cross = max(lib_cross, cross)

print("dump: %d samples; of the program and its library: %d (%d in kernel mode)" % (n_all, n, kernel_mode))
print("outside:", dict(outside))
print("branch stacks:", dict(brmodes))
print("leaves:", dict(leaves.most_common()))
print("compared %d: equal %d, differing %d; skipped_prologue %d (FP chain off by exactly the caller: %d)"
      % (equal + differ, equal, differ, skipped, skipped_ok))
print("skipped:", dict(skip_kinds))
print("call sites: %d equal samples whose return addresses do not follow their FROMs" % sites_bad)
print("max_depth %d; equal samples: deepest %d, rec frames %d, pointer calls %d, library crossings %d"
      % (max_depth, deep, rec, ptr, lib_cross))
print("lbr: the youngest entry's TO, then the entries' FROMs (call sites); "
      "fp: the IP, then the return addresses")
for what, lst in [("differing", diffs), ("skipped, not off by one", skip_bad),
                  ("skipped, off by one", skip_ex)] + [
                  ("equal, " + k, [v]) for k, v in sorted(examples.items())]:
    for d, lbc, fpc in lst[:10]:
        i = first_diff(lbc, fpc)
        print("%s %s: %s" % (what, d, "first difference at frame %d" % i if i >= 0 else "the same functions"))
        print("  lbr: " + show(lbc))
        print("  fp:  " + show(fpc))
for d, bad, lbc, fpc in site_bad[:10]:
    print("call site %s: %s" % (d, bad))
    print("  lbr: " + show(lbc))
    print("  fp:  " + show(fpc))

def line(name, lst):
    with open(os.path.join(art, name), "w") as f:
        if lst:
            d, lbc, fpc = lst[0][0], lst[0][-2], lst[0][-1]
            extra = (" " + lst[0][1]) if len(lst[0]) == 4 else ""
            f.write("%s, first difference at frame %d%s: lbr %s / fp %s\n"
                    % (d, first_diff(lbc, fpc), extra, show(lbc), show(fpc)))

line("hwchain-mismatch.txt", diffs)
line("hwchain-skip-mismatch.txt", skip_bad)
line("hwchain-site-mismatch.txt", site_bad)
with open(summary, "w") as f:
    for k, v in (("all", n_all), ("samples", n), ("equal", equal), ("differ", differ),
                 ("skipped", skipped), ("skipped_ok", skipped_ok), ("sites_bad", sites_bad),
                 ("max_depth", max_depth), ("deep", deep), ("rec", rec), ("ptr", ptr),
                 ("lib_cross", lib_cross), ("callstacks", brmodes["callstack"])):
        f.write("h_%s=%d\n" % (k, v))
EOF
py_rc=$?

h_all=0 h_samples=0 h_equal=0 h_differ=0 h_skipped=0 h_skipped_ok=0 h_sites_bad=0
h_max_depth=0 h_deep=0 h_rec=0 h_ptr=0 h_lib_cross=0 h_callstacks=0
[ $py_rc -eq 0 ] && . $work/summary.sh
compared=$((h_equal + h_differ))
why="$(tail -n 2 $art/hwchain-compare.txt | tr '\n' ' ')"
expect hwchain_compares "python3 exited $py_rc: $why" [ $py_rc = 0 ]
expect hwchain_samples_at_least_100 "$compared samples compared ($h_samples of hwchain, $h_all in the record)" \
	[ "$compared" -ge 100 ]
expect hwchain_samples_carry_lbr_call_stacks "$h_callstacks of $h_samples samples with a branch callstack" \
	[ "$h_callstacks" = "$h_samples" ]
if [ "$compared" -gt 0 ] && [ "$h_differ" = 0 ]; then
	ok hwchain_lbr_equals_fp_chain_in_every_sample
else
	fail hwchain_lbr_equals_fp_chain_in_every_sample \
		"$h_differ of $compared differ; $(cat $art/hwchain-mismatch.txt 2>/dev/null)"
fi
if [ "$h_equal" -gt 0 ] && [ "$h_sites_bad" = 0 ]; then
	ok hwchain_return_addresses_follow_the_lbr_call_sites
else
	fail hwchain_return_addresses_follow_the_lbr_call_sites \
		"$h_sites_bad of $h_equal equal samples; $(cat $art/hwchain-site-mismatch.txt 2>/dev/null)"
fi
if [ "$h_skipped" = "$h_skipped_ok" ]; then
	ok hwchain_prologue_samples_miss_exactly_the_caller
else
	fail hwchain_prologue_samples_miss_exactly_the_caller \
		"$((h_skipped - h_skipped_ok)) of $h_skipped; $(cat $art/hwchain-skip-mismatch.txt 2>/dev/null)"
fi
# Coverage, among the equal samples: the whole deep chain (main, round_all,
# run_deep, d01 .. d20), the recursion to its bottom (rec(10) .. rec(0)),
# at least 4 calls through pointers, a leaf in the library reached across
# the objects at least 3 times (program -> library -> program -> library).
expect hwchain_covers_deep_chains "deepest equal sample: $h_deep frames" [ "$h_deep" -ge 23 ]
expect hwchain_covers_recursion "at most $h_rec rec frames in an equal sample" [ "$h_rec" -ge 11 ]
expect hwchain_covers_pointers "at most $h_ptr calls through pointers in an equal sample" [ "$h_ptr" -ge 4 ]
expect hwchain_covers_the_library "at most $h_lib_cross crossings to a library leaf in an equal sample" \
	[ "$h_lib_cross" -ge 3 ]
echo "hwchain kernel=$(uname -r | sed "s/-lbrctx$//") samples=$h_samples equal=$h_equal skipped_prologue=$h_skipped max_depth=$h_max_depth" \
	>$art/hwchain.txt
cat $art/hwchain.txt $art/hwchain-compare.txt
