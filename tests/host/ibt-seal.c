// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Which kernel functions blkfilter.ko could call through a pointer on a
 * CPU with indirect branch tracking, checked on the vmlinux of Debian's
 * 6.12 kernel (its -dbg package): a function can be called so only if it
 * starts with an ENDBR that the kernel does not seal at boot, the
 * .ibt_endbr_seal list (between __ibt_endbr_seal and __ibt_endbr_seal_end,
 * 32-bit offsets relative to each entry) of ENDBRs of functions whose
 * address the kernel never takes.
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
 * The vmlinux: $IBT_VMLINUX, else /usr/lib/debug/boot/vmlinux-6.12*, else
 * $BLKSNAP_CACHE/dbg/usr/lib/debug/boot/vmlinux-6.12* (BLKSNAP_CACHE
 * defaults to /var/cache/blksnap); skips without one.  The module:
 * build/KVER/modules-out/blkfilter.ko for the vmlinux's release.
 * Needs nm and readelf.  Exit 0 pass, 1 fail, 77 skip.
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

static struct sym *syms;
static size_t nsyms;
static unsigned long long *sealed;
static size_t nsealed;
static FILE *vm;

/* Sections of the vmlinux: address, file offset, size. */
static struct sect {
	unsigned long long addr, off, size;
} sects[256];
static int nsects;

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

static const struct sym *find_sym(const char *name)
{
	size_t i;

	for (i = 0; i < nsyms; i++)
		if (!strcmp(syms[i].name, name))
			return &syms[i];
	return NULL;
}

static int read_at(unsigned long long addr, void *buf, size_t len)
{
	int i;

	for (i = 0; i < nsects; i++) {
		if (addr < sects[i].addr || addr + len > sects[i].addr + sects[i].size)
			continue;
		if (fseeko(vm, (off_t)(sects[i].off + addr - sects[i].addr), SEEK_SET) ||
		    fread(buf, 1, len, vm) != len)
			return -1;
		return 0;
	}
	return -1;
}

static int load_syms(const char *path)
{
	char cmd[4200], line[4096], type, name[4000];
	unsigned long long addr;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm '%s'", path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	syms = calloc(MAX_SYMS, sizeof(*syms));
	while (syms && fgets(line, sizeof(line), p) && nsyms < MAX_SYMS) {
		if (sscanf(line, "%llx %c %3999s", &addr, &type, name) != 3)
			continue;
		syms[nsyms].addr = addr;
		syms[nsyms].type = type;
		syms[nsyms].name = strdup(name);
		nsyms++;
	}
	return pclose(p) || !nsyms ? -1 : 0;
}

static int load_sects(const char *path)
{
	char cmd[4200], line[4096], *p;
	unsigned long long addr, off, size;
	char name[256], type[64];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "readelf -SW '%s'", path);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && nsects < 256) {
		p = strchr(line, ']');
		if (!strchr(line, '[') || !p || strstr(line, "Nr]"))
			continue;
		if (sscanf(p + 1, "%255s %63s %llx %llx %llx", name, type, &addr,
			   &off, &size) != 5 || !strcmp(type, "NOBITS") || !addr)
			continue;
		sects[nsects++] = (struct sect){ addr, off, size };
	}
	return pclose(f) || !nsects ? -1 : 0;
}

static int load_sealed(void)
{
	const struct sym *start = find_sym("__ibt_endbr_seal");
	const struct sym *end = find_sym("__ibt_endbr_seal_end");
	unsigned long long a;
	int32_t rel;

	if (!start || !end || end->addr <= start->addr)
		return -1;
	sealed = calloc((end->addr - start->addr) / 4, sizeof(*sealed));
	if (!sealed)
		return -1;
	for (a = start->addr; a < end->addr; a += 4) {
		if (read_at(a, &rel, sizeof(rel)))
			return -1;
		sealed[nsealed++] = a + rel;
	}
	qsort(sealed, nsealed, sizeof(*sealed), cmp_ull);
	return 0;
}

/*
 * "callable", "sealed" (an ENDBR the kernel overwrites), "no ENDBR", or
 * NULL if not a function of the vmlinux.
 */
static const char *state(const char *name)
{
	static const unsigned char endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	const struct sym *s = find_sym(name);
	unsigned char insn[4];

	if (!s || (s->type != 'T' && s->type != 't'))
		return NULL;
	if (read_at(s->addr, insn, sizeof(insn)))
		return NULL;
	if (memcmp(insn, endbr64, sizeof(insn)))
		return "no ENDBR";
	if (bsearch(&s->addr, sealed, nsealed, sizeof(*sealed), cmp_ull))
		return "sealed";
	return "callable";
}

static char *find_vmlinux(void)
{
	const char *env = getenv("IBT_VMLINUX");
	const char *cache = getenv("BLKSNAP_CACHE");
	char pat[4096];
	char *ret = NULL;
	glob_t g;

	if (env && *env)
		return strdup(env);
	if (!glob("/usr/lib/debug/boot/vmlinux-6.12*-amd64", 0, NULL, &g) && g.gl_pathc)
		ret = strdup(g.gl_pathv[g.gl_pathc - 1]);
	else {
		snprintf(pat, sizeof(pat), "%s/dbg/usr/lib/debug/boot/vmlinux-6.12*-amd64",
			 cache && *cache ? cache : "/var/cache/blksnap");
		globfree(&g);
		if (!glob(pat, 0, NULL, &g) && g.gl_pathc)
			ret = strdup(g.gl_pathv[g.gl_pathc - 1]);
	}
	globfree(&g);
	return ret;
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
	char *vmlinux = find_vmlinux();
	const char *rel, *st;
	char path[8400], cmd[8500], line[512], name[256], exe[4096];
	int fail = 0, n = 0;
	size_t i;
	FILE *p;

	if (!vmlinux) {
		printf("skip: no vmlinux of Debian's 6.12 (its -dbg package; see tests/host/ibt-seal.c)\n");
		return 77;
	}
	vm = fopen(vmlinux, "rb");
	if (!vm || load_syms(vmlinux) || load_sects(vmlinux)) {
		printf("skip: cannot read %s with nm and readelf\n", vmlinux);
		return 77;
	}
	if (load_sealed()) {
		printf("FAIL: %s has no readable .ibt_endbr_seal list\n", vmlinux);
		return 1;
	}
	printf("%s: %zu ENDBRs sealed at boot\n", vmlinux, nsealed);

	/* The method. */
	st = state("kallsyms_lookup_name");
	if (!st || strcmp(st, "sealed"))
		printf("FAIL: kallsyms_lookup_name is %s, expected sealed\n", st ?: "not found"), fail = 1;
	st = state("__submit_bio");
	if (!st || strcmp(st, "no ENDBR"))
		printf("FAIL: __submit_bio is %s, expected no ENDBR\n", st ?: "not found"), fail = 1;
	st = state("submit_bio_noacct");
	if (!st || strcmp(st, "callable"))
		printf("FAIL: submit_bio_noacct is %s, expected callable\n", st ?: "not found"), fail = 1;

	for (i = 0; indirect_safe[i]; i++) {
		st = state(indirect_safe[i]);
		printf("called through a pointer: %s: %s\n", indirect_safe[i], st ?: "not found");
		if (!st || strcmp(st, "callable"))
			fail = 1;
	}
	if (!i)
		printf("called through a pointer in the IBT-safe mode: no kernel function\n");
	for (i = 0; i < sizeof(hooked) / sizeof(hooked[0]); i++) {
		st = state(hooked[i]);
		printf("hooked: %s: %s\n", hooked[i], st ?: "not found");
		if (!st)
			fail = 1;
	}

	/*
	 * The module's own references, for the vmlinux's release: the module
	 * is in build/RELEASE/modules-out, this program in build/host-tests.
	 */
	rel = strstr(vmlinux, "vmlinux-");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	p = NULL;
	if (rel && n > 0) {
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		snprintf(path, sizeof(path), "%s/../%s/modules-out/blkfilter.ko", exe, rel + 8);
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
		st = state(name);
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
