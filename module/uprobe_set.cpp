// SPDX-License-Identifier: GPL-2.0
/*
 * The user source's probe set (see include/lbrctx/usource.h): lines
 * "PATH OFFSET NAME" parsed into a set allocated to their size (the text
 * counted first, each path kept once for its consecutive lines), each file
 * opened once for its consecutive lines and checked (a regular file
 * uprobes can read, an x86-64 ELF file whose offsets are code), and the set
 * installed all or none. Each refusal is one rate-limited line and its
 * errno (docs/PMU.md). Task context, under the source's mutex.
 */
#include <lbrctx/elf.h>
#include <lbrctx/sort.h>
#include <lbrctx/usource.h>

namespace lbrctx {
namespace {

bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

bool is_line_end(char c)
{
	return c == '\n' || c == ';' || c == 0;
}

/* A field of a line: @len bytes at @s, not NUL-terminated; empty at the line's end. */
struct Field {
	const char *s = nullptr;
	int len = 0;
	explicit operator bool() const { return len != 0; }
};

Field next_field(const char *&p)
{
	while (is_space(*p))
		p++;
	const char *start = p;
	while (!is_space(*p) && !is_line_end(*p))
		p++;
	return {start, static_cast<int>(p - start)};
}

/* The fields of the line at @p, and @p past its end. */
struct Line {
	Field path, off, name, extra;
};

Line next_line(const char *&p)
{
	Line l;
	l.path = next_field(p);
	if (l.path)
		l.off = next_field(p);
	if (l.off)
		l.name = next_field(p);
	if (l.name)
		l.extra = next_field(p);
	while (!is_line_end(*p))
		p++;
	if (*p)
		p++;
	return l;
}

bool same(Field a, Field b)
{
	return a.len == b.len && !__builtin_memcmp(a.s, b.s, a.len);
}

/* @f, NUL-terminated, at @t; returns the byte after. */
char *copy_field(char *t, Field f)
{
	__builtin_memcpy(t, f.s, f.len);
	t[f.len] = 0;
	return t + f.len + 1;
}

bool parse_u64(Field f, u64 &out)
{
	const char *s = f.s, *end = f.s + f.len;
	u32 base = 10;
	if (f.len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (s == end)
			return false;
	}
	u64 v = 0;
	for (; s < end; s++) {
		u32 d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (v > (~0ull - d) / base)
			return false;
		v = v * base + d;
	}
	out = v;
	return true;
}

size_t length(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

constexpr size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* An opened file, closed when the scope ends or another is opened. Task context. */
class File : Pinned {
public:
	File() = default;
	~File() { close(); }
	bool open(const char *path, int &err)
	{
		close();
		m_file = lbrctx_shim_file_open(path, &err);
		return m_file != nullptr;
	}
	void close()
	{
		if (m_file)
			lbrctx_shim_file_close(exchange(m_file, nullptr));
	}
	void *get() const { return m_file; }

private:
	void *m_file = nullptr;
};

/* The ELF header's bytes of the file open now (the mutex is held). */
constinit u8 g_hdr[4096];

/* @inode's @offset against the header's @n bytes in g_hdr. */
Result<void> check_offset(long n, void *inode, u64 offset, const char *path, const char *name)
{
	if (offset >= lbrctx_shim_inode_size(inode)) {
		lbrctx_refusal("uprobes: %s: offset %#llx of %s is beyond the file\n", path, offset,
			       name);
		return err::inval();
	}
	if (n < 0) {
		lbrctx_refusal("uprobes: %s: cannot read it (%ld)\n", path, n);
		return Error{static_cast<int>(n)};
	}
	if (auto r = elf::check_executable_offset(g_hdr, static_cast<size_t>(n), offset);
	    r.is_error()) {
		lbrctx_refusal(r.error() == -LBRCTX_K_ENOEXEC
				       ? "uprobes: %s: not an x86-64 ELF file (%s)\n"
				       : "uprobes: %s: %s is not in an executable segment\n",
			       path, name);
		return r;
	}
	return {};
}

} // namespace

/* Task context: a zeroed set of @n probes and @text bytes of text, in one allocation. */
UserSource::OwnedSet UserSource::alloc_set(u32 n, size_t text)
{
	const size_t probes = align_up(sizeof(Set), alignof(Probe));
	const size_t cur = probes + static_cast<size_t>(n) * sizeof(Probe);
	const size_t size = cur + n + text;
	u8 *mem = static_cast<u8 *>(lbrctx_shim_kvzalloc(size));
	if (!mem)
		return OwnedSet();
	Set *s = new (mem) Set{};
	s->probes = reinterpret_cast<Probe *>(mem + probes);
	for (u32 i = 0; i < n; i++)
		new (&s->probes[i]) Probe{};
	s->cur = mem + cur;
	s->text = reinterpret_cast<char *>(mem + cur + n);
	s->text_size = text;
	s->bytes = lbrctx_shim_kvsize(mem, size);
	s->n = n;
	return OwnedSet(s);
}

/* Task context: drop the files of @set, then its memory. */
void UserSource::free_set(Set *set)
{
	if (!set)
		return;
	for (u32 i = 0; i < set->n; i++) {
		if (set->probes[i].inode)
			lbrctx_shim_inode_put(set->probes[i].inode);
	}
	lbrctx_shim_kvfree(set);
}

/*
 * Parse @spec into a set of its own: lines "PATH OFFSET NAME", counted
 * first (-ENOSPC past kMaxProbes, before anything is allocated), then
 * copied into the set's text. Nothing is looked up yet.
 */
Result<UserSource::OwnedSet> UserSource::parse(const char *spec)
{
	u32 n = 0;
	size_t text = 0;
	Field prev;
	for (const char *p = spec; *p;) {
		Line l = next_line(p);
		if (!l.path)
			continue; /* an empty line */
		n++;
		if (!same(l.path, prev))
			text += l.path.len + 1;
		prev = l.path;
		text += l.name.len + 1;
	}
	if (n > kMaxProbes) {
		lbrctx_refusal("uprobes: %u lines: at most %u probes\n", n, kMaxProbes);
		return Error{-LBRCTX_K_ENOSPC};
	}
	OwnedSet owned = alloc_set(n, text);
	Set *set = owned.get();
	if (!set) {
		lbrctx_refusal("uprobes: no memory for %u probes\n", n);
		return err::nomem();
	}
	char *t = set->text;
	const char *path = nullptr;
	prev = {};
	u32 i = 0;
	for (const char *p = spec; *p;) {
		Line l = next_line(p);
		if (!l.path)
			continue;
		if (!l.name || l.extra) {
			lbrctx_refusal("uprobes: '%.*s...': give PATH OFFSET NAME\n", l.path.len,
				       l.path.s);
			return err::inval();
		}
		if (l.path.s[0] != '/') {
			lbrctx_refusal("uprobes: '%.*s': the path must be absolute\n", l.path.len,
				       l.path.s);
			return err::inval();
		}
		Probe &pr = set->probes[i++];
		if (!parse_u64(l.off, pr.offset)) {
			lbrctx_refusal("uprobes: '%.*s': offset '%.*s' is not a number\n",
				       l.path.len, l.path.s, l.off.len, l.off.s);
			return err::inval();
		}
		if (!same(l.path, prev)) {
			path = t;
			t = copy_field(t, l.path);
		}
		prev = l.path;
		pr.path = path;
		pr.name = t;
		t = copy_field(t, l.name);
	}
	return owned;
}

/*
 * Task context: each probe's file exists, uprobes can read it, and the
 * probe's offset is code. A file is opened once for its consecutive
 * lines, and the inode that gets the probes and the ELF header that is
 * checked are both that open file's: a path looked up twice could name
 * two files (a rename in between).
 */
Result<void> UserSource::check_files(Set &set)
{
	File file;
	const char *open = nullptr;
	long n = 0;
	for (u32 i = 0; i < set.n; i++) {
		Probe &p = set.probes[i];
		if (p.path != open) {
			int err = 0;
			if (!file.open(p.path, err)) {
				lbrctx_refusal(
					"uprobes: %s: %s (%d)\n", p.path,
					err == -LBRCTX_K_ENOENT	  ? "no such file"
					: err == -LBRCTX_K_EISDIR ? "a directory"
					: err == -LBRCTX_K_EIO
						? "its file system cannot read pages for uprobes"
						: "not a regular file",
					err);
				return Error{err};
			}
			open = p.path;
			n = lbrctx_shim_file_pread(file.get(), 0, g_hdr, sizeof(g_hdr));
		}
		p.inode = lbrctx_shim_file_inode(file.get());
		TRY(check_offset(n, p.inode, p.offset, p.path, p.name));
	}
	return {};
}

/* @file (opened, whose inode is @inode): an x86-64 ELF file whose @offset is code. Task context. */
Result<void> UserSource::check_elf(void *file, void *inode, u64 offset, const char *path,
				   const char *name)
{
	return check_offset(lbrctx_shim_file_pread(file, 0, g_hdr, sizeof(g_hdr)), inode, offset,
			    path, name);
}

/*
 * Task context: no (inode, offset) twice. The probes' indices sorted by
 * it (O(n log n)); the line reported is the first that repeats another.
 */
Result<void> UserSource::check_twice(const Set &set)
{
	if (set.n < 2)
		return {};
	u32 *v = static_cast<u32 *>(lbrctx_shim_kvzalloc(set.n * sizeof(u32)));
	if (!v) {
		lbrctx_refusal("uprobes: no memory for %u probes\n", set.n);
		return err::nomem();
	}
	for (u32 i = 0; i < set.n; i++)
		v[i] = i;
	const Probe *p = set.probes;
	auto key_before = [p](u32 a, u32 b) {
		auto ia = reinterpret_cast<unsigned long>(p[a].inode);
		auto ib = reinterpret_cast<unsigned long>(p[b].inode);
		if (ia != ib)
			return ia < ib;
		if (p[a].offset != p[b].offset)
			return p[a].offset < p[b].offset;
		return a < b;
	};
	heap_sort(v, set.n, key_before);
	u32 twice = set.n;
	for (u32 k = 1; k < set.n; k++) {
		if (p[v[k]].inode == p[v[k - 1]].inode && p[v[k]].offset == p[v[k - 1]].offset &&
		    v[k] < twice)
			twice = v[k];
	}
	lbrctx_shim_kvfree(v);
	if (twice == set.n)
		return {};
	lbrctx_refusal("uprobes: %s %#llx is given twice\n", p[twice].path, p[twice].offset);
	return Error{-LBRCTX_K_EEXIST};
}

Result<void> UserSource::install(const char *spec)
{
	return install(spec, length(spec));
}

Result<void> UserSource::install(const char *spec, size_t len)
{
	if (!lbrctx_shim_uprobes_available()) {
		lbrctx_refusal("uprobes: this kernel has no CONFIG_UPROBES\n");
		return err::opnotsupp();
	}
	if (len >= kSpecMax || !spec) {
		lbrctx_refusal("uprobes: %zu bytes, more than %zu\n", len, kSpecMax - 1);
		return err::too_big();
	}
	k::Guard<k::Mutex> m(m_mutex);
	OwnedSet fresh = TRY(parse(spec));
	TRY(check_files(*fresh.get()));
	TRY(check_twice(*fresh.get()));
	/* The old set goes once its probes are unregistered and no handler of them runs. */
	bool live = m_users != 0;
	unregister_locked();
	OwnedSet old(m_live);
	__atomic_store_n(&m_live, fresh.release(), __ATOMIC_RELEASE);
	if (live)
		(void)register_locked();
	return {};
}

void UserSource::show(void *seq)
{
	k::Guard<k::Mutex> m(m_mutex);
	if (!m_live)
		return;
	const Set &s = *m_live;
	for (u32 i = 0; i < s.n; i++)
		lbrctx_shim_seq_printf(seq, "%s %#llx %s\n", s.probes[i].path, s.probes[i].offset,
				       s.probes[i].name);
}

} // namespace lbrctx
