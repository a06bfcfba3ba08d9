// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Which kernel functions blkfilter.ko could call through a pointer on a
 * CPU with indirect branch tracking, checked on Debian's 6.12 kernel: a
 * function can be called so only if it starts with an ENDBR that the
 * kernel does not seal at boot, the .ibt_endbr_seal list (32-bit offsets
 * relative to each entry) of ENDBRs of functions whose address the kernel
 * never takes.
 *
 * The kernel, by default from what CI installs anyway (the linux-image
 * package): the vmlinux ELF compressed in /boot/vmlinuz-KVER (found by the
 * zstd, xz or gzip magic and decompressed with that tool), stripped of its
 * symbols but with its section headers, so .ibt_endbr_seal is read
 * directly; the function names come from the kernel's own symbol table
 * (kallsyms, in .rodata: located by its token index, 256 increasing
 * 16-bit offsets into the token table just before it), as Debian's
 * /boot/System.map is a placeholder. With the vmlinux of the -dbg package
 * also present (/usr/lib/debug/boot/vmlinux-KVER, else
 * $BLKSNAP_CACHE/dbg/usr/lib/debug/boot/vmlinux-KVER, BLKSNAP_CACHE
 * defaulting to /var/cache/blksnap), its sealed set (named with nm) must
 * be the same. $IBT_VMLINUX names a vmlinux with symbols to use instead.
 *
 * Checks:
 * - the method works: kallsyms_lookup_name() is sealed and __submit_bio()
 *   has no ENDBR (the reasons for the IBT-safe paths), submit_bio_noacct()
 *   is callable;
 * - in the IBT-safe mode blkfilter.ko calls no kernel function through a
 *   pointer (the list below is empty; hook.c's header says why), and
 *   every kernel function it names (its undefined symbols: exported
 *   functions, called directly) would be callable through a pointer too;
 *   it calls __submit_bio() by a static call, a direct call patched in at
 *   load (it has a static call site);
 * - the functions it hooks are listed with their state.
 *
 * KVER: the newest /boot/vmlinuz-6.12*-amd64 of the generic flavour, or
 * $IBT_KVER; skips without it. The module: build/KVER/modules-out/
 * blkfilter.ko. Needs readelf, nm (for the -dbg vmlinux) and the
 * decompressor. Exit 0 pass, 1 fail, 77 skip.
 */
#define _GNU_SOURCE
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SYMS (1 << 20)

struct sym {
	unsigned long long addr;
	char type;
	char *name;
};

/* A kernel image: the vmlinux ELF file, its sections, symbols, seal list. */
struct kimg {
	const char *path;
	FILE *f;
	struct sect {
		char name[64];
		unsigned long long addr, off, size;
	} sects[256];
	int nsects;
	struct sym *syms;
	size_t nsyms;
	unsigned long long *sealed;
	size_t nsealed;
};

static struct kimg kimg, dbg;
static char tmp_vmlinux[] = "/tmp/ibt-seal-vmlinux.XXXXXX";

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

static const struct sym *find_sym(const struct kimg *k, const char *name)
{
	size_t i;

	for (i = 0; i < k->nsyms; i++)
		if (!strcmp(k->syms[i].name, name))
			return &k->syms[i];
	return NULL;
}

static const struct sect *find_sect(const struct kimg *k, const char *name)
{
	int i;

	for (i = 0; i < k->nsects; i++)
		if (!strcmp(k->sects[i].name, name))
			return &k->sects[i];
	return NULL;
}

static int read_at(const struct kimg *k, unsigned long long addr, void *buf, size_t len)
{
	const struct sect *s;
	int i;

	for (i = 0; i < k->nsects; i++) {
		s = &k->sects[i];
		if (addr < s->addr || addr + len > s->addr + s->size)
			continue;
		if (fseeko(k->f, (off_t)(s->off + addr - s->addr), SEEK_SET) ||
		    fread(buf, 1, len, k->f) != len)
			return -1;
		return 0;
	}
	return -1;
}

static int add_sym(struct kimg *k, unsigned long long addr, char type, const char *name)
{
	if (!k->syms)
		k->syms = calloc(MAX_SYMS, sizeof(*k->syms));
	if (!k->syms || k->nsyms >= MAX_SYMS)
		return -1;
	k->syms[k->nsyms].addr = addr;
	k->syms[k->nsyms].type = type;
	k->syms[k->nsyms].name = strdup(name);
	k->nsyms++;
	return 0;
}

/* The symbols of a vmlinux that has them (the -dbg package's). */
static int load_nm(struct kimg *k)
{
	char cmd[4200], line[4096], type, name[4000];
	unsigned long long addr;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm '%s' 2>/dev/null", k->path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "%llx %c %3999s", &addr, &type, name) == 3 &&
		    add_sym(k, addr, type, name))
			break;
	return pclose(p) || !k->nsyms ? -1 : 0;
}

static int load_sects(struct kimg *k)
{
	char cmd[4200], line[4096], *p;
	unsigned long long addr, off, size;
	char name[64], type[64];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "readelf -SW '%s' 2>/dev/null", k->path);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && k->nsects < 256) {
		p = strchr(line, ']');
		if (!strchr(line, '[') || !p || strstr(line, "Nr]"))
			continue;
		if (sscanf(p + 1, "%63s %63s %llx %llx %llx", name, type, &addr,
			   &off, &size) != 5 || !strcmp(type, "NOBITS") || !addr)
			continue;
		k->sects[k->nsects] = (struct sect){ "", addr, off, size };
		strcpy(k->sects[k->nsects++].name, name);
	}
	return pclose(f) || !k->nsects ? -1 : 0;
}

/* The seal list, from its own section (symbols not needed). */
static int load_sealed(struct kimg *k)
{
	const struct sect *s = find_sect(k, ".ibt_endbr_seal");
	unsigned long long a;
	int32_t rel;

	if (!s || !s->size || s->size % 4)
		return -1;
	k->sealed = calloc(s->size / 4, sizeof(*k->sealed));
	if (!k->sealed)
		return -1;
	for (a = s->addr; a < s->addr + s->size; a += 4) {
		if (read_at(k, a, &rel, sizeof(rel)))
			return -1;
		k->sealed[k->nsealed++] = a + rel;
	}
	qsort(k->sealed, k->nsealed, sizeof(*k->sealed), cmp_ull);
	return 0;
}

static uint16_t get16(const unsigned char *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get32(const unsigned char *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const unsigned char *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/*
 * Whether @ro[@tab..] holds 256 NUL-terminated tokens at the offsets
 * @idx[], the last @last bytes long and ending at @end.
 */
static int is_token_table(const unsigned char *ro, size_t tab, const unsigned char *idx,
			  size_t last, size_t end)
{
	size_t i, a, b;

	for (i = 0; i < 256; i++) {
		a = tab + get16(idx + 2 * i);
		b = i < 255 ? tab + get16(idx + 2 * i + 2) - 1 : a + last;
		if (b <= a || b >= end || ro[b] || memchr(ro + a, 0, b - a))
			return 0;
	}
	return 1;
}

/*
 * The token index (kallsyms_token_index) at an 8-aligned offset of
 * .rodata: 256 increasing 16-bit offsets from 0, just after the token
 * table they index (up to 8 bytes of padding between). Returns the table's
 * offset, or 0.
 */
static size_t token_table_at(const unsigned char *ro, size_t idx)
{
	size_t i, last, pad, tab, top;

	if (get16(ro + idx))
		return 0;
	for (i = 1; i < 256; i++)
		if (get16(ro + idx + 2 * i) <= get16(ro + idx + 2 * i - 2))
			return 0;
	top = get16(ro + idx + 510);
	for (pad = 0; pad < 8; pad++)
		for (last = 1; last < 256; last++) {
			if (idx < top + last + 1 + pad)
				break;
			tab = idx - pad - top - last - 1;
			if (is_token_table(ro, tab, ro + idx, last, idx - pad))
				return tab;
		}
	return 0;
}

/*
 * Symbol names of kallsyms (a length, in 7-bit groups if over 127, then
 * that many token numbers) from @names: the offset where @n of them end.
 */
static size_t skip_names(const unsigned char *ro, size_t size, size_t names, size_t n)
{
	size_t len;

	while (n-- && names < size) {
		len = ro[names++];
		if (len & 0x80)
			len = (len & 0x7f) | (size_t)ro[names++] << 7;
		names += len;
	}
	return names;
}

/*
 * The kernel's own symbol table (kallsyms) from .rodata of a stripped
 * vmlinux, as laid out for 6.12: kallsyms_num_syms (8 bytes),
 * kallsyms_names, kallsyms_markers (32-bit, one per 256 symbols),
 * kallsyms_token_table, kallsyms_token_index, kallsyms_offsets (32-bit:
 * absolute if not negative, else below kallsyms_relative_base), then
 * kallsyms_relative_base (64-bit: the start of .text).
 */
static int load_kallsyms(struct kimg *k)
{
	const struct sect *rs = find_sect(k, ".rodata"), *ts = find_sect(k, ".text");
	size_t idx, tab = 0, offs, rb, n, nm, names, i, j, len;
	unsigned char *ro;
	char name[1024];
	int32_t off;

	if (!rs || !ts || rs->size < 4096)
		return -1;
	ro = malloc(rs->size);
	if (!ro || read_at(k, rs->addr, ro, rs->size))
		return free(ro), -1;
	for (idx = 0; idx + 512 < rs->size && !tab; idx += 8)
		tab = token_table_at(ro, idx);
	if (!tab)
		return free(ro), -1;
	idx -= 8;
	offs = idx + 512;
	for (rb = offs; rb + 8 <= rs->size && get64(ro + rb) != ts->addr; rb += 8)
		;
	/* The count: where the names of that many end, the markers start. */
	for (n = (rb - offs) / 4 + 1, names = 0; n + 8 > (rb - offs) / 4 && !names; n--) {
		nm = (n + 255) / 256;
		for (i = 0; i + 8 < tab && !names; i += 8)
			if (get32(ro + i) == n && !get32(ro + i + 4) &&
			    skip_names(ro, rs->size, i + 8, n) + 4 * nm <= tab &&
			    skip_names(ro, rs->size, i + 8, n) + 4 * nm + 8 > tab)
				names = i + 8;
	}
	if (!names)
		return free(ro), -1;
	n++;
	for (i = 0; i < n; i++) {
		len = ro[names++];
		if (len & 0x80)
			len = (len & 0x7f) | (size_t)ro[names++] << 7;
		name[0] = 0;
		for (j = 0; j < len; j++)
			strncat(name, (const char *)ro + tab + get16(ro + idx + 2 * ro[names + j]),
				sizeof(name) - strlen(name) - 1);
		names += len;
		off = (int32_t)get32(ro + offs + 4 * i);
		if (add_sym(k, off >= 0 ? (unsigned long long)off : ts->addr - 1 - off,
			    name[0], name + 1))
			break;
	}
	free(ro);
	return k->nsyms == n ? 0 : -1;
}

/*
 * "callable", "sealed" (an ENDBR the kernel overwrites), "no ENDBR", or
 * NULL if not a function of the vmlinux.
 */
static const char *state(const struct kimg *k, const char *name)
{
	static const unsigned char endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	const struct sym *s = find_sym(k, name);
	unsigned char insn[4];

	if (!s || (s->type != 'T' && s->type != 't'))
		return NULL;
	if (read_at(k, s->addr, insn, sizeof(insn)))
		return NULL;
	if (memcmp(insn, endbr64, sizeof(insn)))
		return "no ENDBR";
	if (bsearch(&s->addr, k->sealed, k->nsealed, sizeof(*k->sealed), cmp_ull))
		return "sealed";
	return "callable";
}

/* The release of Debian's generic 6.12 kernel in /boot (newest), or NULL. */
static char *find_kver(void)
{
	const char *env = getenv("IBT_KVER");
	char *ret = NULL;
	glob_t g;
	size_t i;

	if (env && *env)
		return strdup(env);
	if (!glob("/boot/vmlinuz-6.12*-amd64", 0, NULL, &g))
		for (i = 0; i < g.gl_pathc; i++)
			if (!strstr(g.gl_pathv[i], "-rt-") && !strstr(g.gl_pathv[i], "-cloud-")) {
				free(ret);
				ret = strdup(g.gl_pathv[i] + strlen("/boot/vmlinuz-"));
			}
	globfree(&g);
	return ret;
}

/* The -dbg package's vmlinux of @kver, if installed or unpacked. */
static char *find_dbg(const char *kver)
{
	const char *cache = getenv("BLKSNAP_CACHE");
	char path[4200];

	snprintf(path, sizeof(path), "/usr/lib/debug/boot/vmlinux-%s", kver);
	if (!access(path, R_OK))
		return strdup(path);
	snprintf(path, sizeof(path), "%s/dbg/usr/lib/debug/boot/vmlinux-%s",
		 cache && *cache ? cache : "/var/cache/blksnap", kver);
	return access(path, R_OK) ? NULL : strdup(path);
}

static void rm_tmp(void)
{
	unlink(tmp_vmlinux);
}

/*
 * The vmlinux ELF compressed in the bzImage @vmlinuz, decompressed into a
 * temporary file: at the first magic of a compressor whose output is an
 * ELF file (the decompressor stops at the end of its stream, its
 * complaint about what follows ignored).
 */
static char *extract_vmlinux(const char *vmlinuz)
{
	static const struct {
		const char *magic;
		size_t len;
		const char *cmd;
	} comp[] = {
		{ "\x28\xb5\x2f\xfd", 4, "zstd -dcq" },
		{ "\xfd" "7zXZ", 6, "xz -dcq" },
		{ "\x1f\x8b\x08", 3, "gzip -dcq" },
	};
	char cmd[8500], elf[4];
	unsigned char *img, *m;
	FILE *f = fopen(vmlinuz, "rb");
	long size;
	size_t i;
	int fd;

	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET))
		return f ? fclose(f), NULL : NULL;
	img = malloc(size);
	if (!img || fread(img, 1, size, f) != (size_t)size) {
		free(img);
		fclose(f);
		return NULL;
	}
	fclose(f);
	fd = mkstemp(tmp_vmlinux);
	if (fd < 0)
		return free(img), NULL;
	close(fd);
	atexit(rm_tmp);
	for (i = 0; i < sizeof(comp) / sizeof(comp[0]); i++) {
		m = memmem(img, size, comp[i].magic, comp[i].len);
		if (!m)
			continue;
		snprintf(cmd, sizeof(cmd), "tail -c +%ld '%s' | %s >'%s' 2>/dev/null",
			 (long)(m - img) + 1, vmlinuz, comp[i].cmd, tmp_vmlinux);
		if (system(cmd) == -1)
			continue;
		f = fopen(tmp_vmlinux, "rb");
		if (f && fread(elf, 1, 4, f) == 4 && !memcmp(elf, "\x7f" "ELF", 4)) {
			fclose(f);
			free(img);
			return tmp_vmlinux;
		}
		if (f)
			fclose(f);
	}
	free(img);
	return NULL;
}

/* Opens @k->path and reads its sections, seal list and symbols. */
static int load_kimg(struct kimg *k, int (*load_syms)(struct kimg *k))
{
	k->f = fopen(k->path, "rb");
	if (!k->f || load_sects(k) || load_syms(k))
		return -1;
	return load_sealed(k) ? -2 : 0;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/*
 * A function of @k at @addr, named @name unless NULL (@k's symbols sorted
 * by address), or NULL.
 */
static const struct sym *func_at(const struct kimg *k, unsigned long long addr,
				 const char *name)
{
	struct sym key = { .addr = addr };
	const struct sym *s = bsearch(&key, k->syms, k->nsyms, sizeof(key), cmp_sym);

	while (s && s > k->syms && s[-1].addr == addr)
		s--;
	for (; s && s < k->syms + k->nsyms && s->addr == addr; s++)
		if ((s->type == 't' || s->type == 'T') && (!name || !strcmp(s->name, name)))
			return s;
	return NULL;
}

/*
 * Compares @a's sealed set with @b's, both with their symbols sorted by
 * address: the same addresses, each a function of the same name in both
 * (or in neither). Returns how many are named, or -1 if they differ.
 */
static long same_sealed(const struct kimg *a, const struct kimg *b)
{
	const struct sym *s;
	long named = 0;
	size_t i;

	if (a->nsealed != b->nsealed ||
	    memcmp(a->sealed, b->sealed, a->nsealed * sizeof(*a->sealed)))
		return -1;
	for (i = 0; i < a->nsealed; i++) {
		s = func_at(a, a->sealed[i], NULL);
		if (!s ? !!func_at(b, a->sealed[i], NULL) : !func_at(b, s->addr, s->name))
			return -1;
		named += !!s;
	}
	return named;
}

/* Whether the ELF file at @path has a section named @name. */
static int has_section(const char *path, const char *name)
{
	char cmd[8500], line[512];
	int found = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -SW '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p))
		if (strstr(line, name))
			found = 1;
	if (p)
		pclose(p);
	return found;
}

int main(void)
{
	/* Kernel functions blkfilter.ko calls through a pointer, IBT-safe. */
	static const char *const indirect_safe[] = { NULL };
	static const char *const hooked[] = {
		"__submit_bio", "blkdev_ioctl", "compat_blkdev_ioctl",
		"del_gendisk", "device_del",
	};
	const char *env = getenv("IBT_VMLINUX");
	char *kver = find_kver(), *dbg_path;
	const char *rel, *st;
	char path[8400], cmd[8500], line[512], name[256], exe[4096], vmlinuz[4200];
	struct kimg *k = &kimg;
	int fail = 0, n = 0, err;
	long named;
	size_t i;
	FILE *p;

	if (env && *env) {
		k->path = env;
		rel = strstr(env, "vmlinux-");
		free(kver);
		kver = rel ? strdup(rel + 8) : NULL;
		err = load_kimg(k, load_nm);
	} else {
		if (!kver) {
			printf("skip: no /boot/vmlinuz-6.12*-amd64 (Debian's linux-image-6.12-amd64)\n");
			return 77;
		}
		snprintf(vmlinuz, sizeof(vmlinuz), "/boot/vmlinuz-%s", kver);
		k->path = extract_vmlinux(vmlinuz);
		if (!k->path) {
			printf("skip: no vmlinux ELF found in %s (zstd, xz or gzip)\n", vmlinuz);
			return 77;
		}
		err = load_kimg(k, load_kallsyms);
		k->path = vmlinuz;
	}
	if (err == -1) {
		printf("FAIL: cannot read the sections and symbols of %s\n", k->path);
		return 1;
	}
	if (err) {
		printf("FAIL: %s has no readable .ibt_endbr_seal list\n", k->path);
		return 1;
	}
	printf("%s: %zu ENDBRs sealed at boot, %zu symbols\n", k->path, k->nsealed, k->nsyms);

	/* The -dbg package's vmlinux, if here, must agree. */
	dbg_path = kver && !(env && *env) ? find_dbg(kver) : NULL;
	if (dbg_path) {
		dbg.path = dbg_path;
		if (load_kimg(&dbg, load_nm)) {
			printf("FAIL: cannot read %s\n", dbg_path);
			return 1;
		}
		qsort(k->syms, k->nsyms, sizeof(*k->syms), cmp_sym);
		qsort(dbg.syms, dbg.nsyms, sizeof(*dbg.syms), cmp_sym);
		named = same_sealed(k, &dbg);
		if (named < 0) {
			printf("FAIL: %s seals other functions than %s\n", dbg_path, k->path);
			fail = 1;
		} else {
			printf("%s: the same %zu sealed, %ld of them named the same\n",
			       dbg_path, dbg.nsealed, named);
		}
	}

	/* The method. */
	st = state(k, "kallsyms_lookup_name");
	if (!st || strcmp(st, "sealed"))
		printf("FAIL: kallsyms_lookup_name is %s, expected sealed\n", st ?: "not found"), fail = 1;
	st = state(k, "__submit_bio");
	if (!st || strcmp(st, "no ENDBR"))
		printf("FAIL: __submit_bio is %s, expected no ENDBR\n", st ?: "not found"), fail = 1;
	st = state(k, "submit_bio_noacct");
	if (!st || strcmp(st, "callable"))
		printf("FAIL: submit_bio_noacct is %s, expected callable\n", st ?: "not found"), fail = 1;

	for (i = 0; indirect_safe[i]; i++) {
		st = state(k, indirect_safe[i]);
		printf("called through a pointer: %s: %s\n", indirect_safe[i], st ?: "not found");
		if (!st || strcmp(st, "callable"))
			fail = 1;
	}
	if (!i)
		printf("called through a pointer in the IBT-safe mode: no kernel function\n");
	for (i = 0; i < sizeof(hooked) / sizeof(hooked[0]); i++) {
		st = state(k, hooked[i]);
		printf("hooked: %s: %s\n", hooked[i], st ?: "not found");
		if (!st)
			fail = 1;
	}

	/*
	 * The module's own references, for the kernel's release: the module
	 * is in build/RELEASE/modules-out, this program in build/host-tests.
	 */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	p = NULL;
	if (kver && n > 0) {
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		snprintf(path, sizeof(path), "%s/../%s/modules-out/blkfilter.ko", exe, kver);
		snprintf(cmd, sizeof(cmd), "nm -u '%s' 2>/dev/null", path);
		p = popen(cmd, "r");
	}
	n = 0;
	while (p && fgets(line, sizeof(line), p)) {
		if (sscanf(line, " U %255s", name) != 1)
			continue;
		/* The retpoline and return thunks are jumped to directly. */
		if (!strncmp(name, "__x86_", 6) || !strcmp(name, "__fentry__"))
			continue;
		st = state(k, name);
		if (!st)
			continue;	/* data, or not in the vmlinux */
		n++;
		if (strcmp(st, "callable")) {
			printf("FAIL: blkfilter.ko uses %s, which is %s\n", name, st);
			fail = 1;
		}
	}
	if (p && pclose(p) == 0 && n)
		printf("%s: %d kernel functions named (called directly)%s\n", path, n,
		       fail ? "" : ", all callable through a pointer too");
	else
		printf("no %s: its references not checked\n", path);
	if (n && !has_section(path, ".static_call_sites")) {
		printf("FAIL: %s has no static call site: how does it call __submit_bio?\n", path);
		fail = 1;
	}
	return fail;
}
