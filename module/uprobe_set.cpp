// SPDX-License-Identifier: GPL-2.0
/*
 * The user source's probe set (see include/lbrctx/usource.h): lines
 * "PATH OFFSET NAME" parsed, each file opened once and checked (a regular
 * file uprobes can read, an x86-64 ELF file whose offset is code), and
 * the set installed all or none. Each refusal is one rate-limited line and
 * its errno (docs/PMU.md). Task context, under the source's mutex.
 */
#include <lbrctx/elf.h>
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

/* The next field of a line at @p, NUL-terminated in place; null at the line's end. */
char *next_field(char *&p)
{
	while (is_space(*p))
		p++;
	if (is_line_end(*p))
		return nullptr;
	char *start = p;
	while (!is_space(*p) && !is_line_end(*p))
		p++;
	if (is_space(*p))
		*p++ = 0;
	return start;
}

bool parse_u64(const char *s, u64 &out)
{
	u32 base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	u64 v = 0;
	for (; *s; s++) {
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

} // namespace

/*
 * Parse @spec into @set: lines "PATH OFFSET NAME". Fields stay in the set's
 * text; nothing is looked up yet.
 */
Result<void> UserSource::parse(const char *spec, Set &set)
{
	size_t len = length(spec);
	if (len >= kSpecMax) {
		lbrctx_refusal("uprobes: %zu bytes, more than %zu\n", len, kSpecMax - 1);
		return err::too_big();
	}
	__builtin_memcpy(set.text, spec, len + 1);
	set.n = 0;
	for (char *p = set.text; *p;) {
		char *path = next_field(p), *off = path ? next_field(p) : nullptr;
		char *name = off ? next_field(p) : nullptr;
		char *extra = name ? next_field(p) : nullptr;
		char end = *p;
		*p = 0;
		if (end)
			p++;
		if (!path)
			continue; /* an empty line */
		if (set.n == kMaxProbes) {
			lbrctx_refusal("uprobes: at most %u probes\n", kMaxProbes);
			return Error{-LBRCTX_K_ENOSPC};
		}
		Probe &pr = set.probes[set.n];
		if (!name || extra) {
			lbrctx_refusal("uprobes: '%s...': give PATH OFFSET NAME\n", path);
			return err::inval();
		}
		if (path[0] != '/') {
			lbrctx_refusal("uprobes: '%s': the path must be absolute\n", path);
			return err::inval();
		}
		if (!parse_u64(off, pr.offset)) {
			lbrctx_refusal("uprobes: '%s': offset '%s' is not a number\n", path, off);
			return err::inval();
		}
		pr.path = path;
		pr.name = name;
		pr.inode = nullptr;
		pr.registered = false;
		pr.cur = 0;
		set.n++;
	}
	return {};
}

namespace {

/* An opened file, closed when the scope ends. Task context. */
class File : Pinned {
public:
	File(const char *path, int &err) : m_file(lbrctx_shim_file_open(path, &err)) {}
	~File()
	{
		if (m_file)
			lbrctx_shim_file_close(m_file);
	}
	void *get() const { return m_file; }

private:
	void *m_file;
};

} // namespace

/*
 * Task context: the file of @p exists, uprobes can read it, and @p's
 * offset is code. The file is opened once, and the inode that gets the
 * probe and the ELF header that is checked are both that open file's: a
 * path looked up twice could name two files (a rename in between).
 */
Result<void> UserSource::check_file(Probe &p)
{
	int err = 0;
	File file(p.path, err);
	if (!file.get()) {
		lbrctx_refusal("uprobes: %s: %s (%d)\n", p.path,
			       err == -LBRCTX_K_ENOENT	 ? "no such file"
			       : err == -LBRCTX_K_EISDIR ? "a directory"
			       : err == -LBRCTX_K_EIO
				       ? "its file system cannot read pages for uprobes"
				       : "not a regular file",
			       err);
		return Error{err};
	}
	p.inode = lbrctx_shim_file_inode(file.get());
	return check_elf(file.get(), p.inode, p.offset, p.path, p.name);
}

/* @file (opened, whose inode is @inode): an x86-64 ELF file whose @offset is code. Task context. */
Result<void> UserSource::check_elf(void *file, void *inode, u64 offset, const char *path,
				   const char *name)
{
	if (offset >= lbrctx_shim_inode_size(inode)) {
		lbrctx_refusal("uprobes: %s: offset %#llx of %s is beyond the file\n", path, offset,
			       name);
		return err::inval();
	}
	static u8 hdr[4096]; /* the mutex is held */
	long n = lbrctx_shim_file_pread(file, 0, hdr, sizeof(hdr));
	if (n < 0) {
		lbrctx_refusal("uprobes: %s: cannot read it (%ld)\n", path, n);
		return Error{static_cast<int>(n)};
	}
	if (auto r = elf::check_executable_offset(hdr, static_cast<size_t>(n), offset);
	    r.is_error()) {
		lbrctx_refusal(r.error() == -LBRCTX_K_ENOEXEC
				       ? "uprobes: %s: not an x86-64 ELF file (%s)\n"
				       : "uprobes: %s: %s is not in an executable segment\n",
			       path, name);
		return r;
	}
	return {};
}

/* Mutex held: drop the files of @set. */
void UserSource::release(Set &set)
{
	for (u32 i = 0; i < set.n; i++) {
		if (set.probes[i].inode)
			lbrctx_shim_inode_put(set.probes[i].inode);
		set.probes[i].inode = nullptr;
	}
	set.n = 0;
}

Result<void> UserSource::install(const char *spec)
{
	if (!lbrctx_shim_uprobes_available()) {
		lbrctx_refusal("uprobes: this kernel has no CONFIG_UPROBES\n");
		return err::opnotsupp();
	}
	k::Guard<k::Mutex> m(m_mutex);
	Set &fresh = m_sets[1 - m_live];
	fresh.n = 0;
	auto r = parse(spec, fresh);
	for (u32 i = 0; !r.is_error() && i < fresh.n; i++) {
		Probe &p = fresh.probes[i];
		r = check_file(p);
		for (u32 j = 0; !r.is_error() && j < i; j++) {
			if (fresh.probes[j].inode == p.inode &&
			    fresh.probes[j].offset == p.offset) {
				lbrctx_refusal("uprobes: %s %#llx is given twice\n", p.path,
					       p.offset);
				r = Error{-LBRCTX_K_EEXIST};
			}
		}
	}
	if (r.is_error()) {
		release(fresh);
		return r;
	}
	bool live = m_users != 0;
	unregister_locked();
	release(m_sets[m_live]);
	m_live = 1 - m_live;
	if (live)
		(void)register_locked();
	return {};
}

void UserSource::show(void *seq)
{
	k::Guard<k::Mutex> m(m_mutex);
	Set &s = m_sets[m_live];
	for (u32 i = 0; i < s.n; i++)
		lbrctx_shim_seq_printf(seq, "%s %#llx %s\n", s.probes[i].path, s.probes[i].offset,
				       s.probes[i].name);
}

} // namespace lbrctx
