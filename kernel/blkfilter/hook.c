// SPDX-License-Identifier: GPL-2.0
/*
 * Hooks into an unpatched kernel.
 *
 * A stock kernel has no place for a block device filter, so the module puts
 * ftrace handlers in front of a few block layer functions and redirects the
 * calls it needs to its own code, the way livepatch redirects a function:
 *
 * - __submit_bio(): where the in-tree series calls the filter, after the
 *   block layer's checks and partition remapping, once per bio taken off the
 *   submitter's list.  Hooked only while a filter is attached somewhere, so
 *   that a loaded module with nothing attached costs nothing; where the
 *   kernel allows, with an ftrace direct call rather than a callback
 *   (bf_submit_direct), since this one runs for every bio.
 * - blkdev_ioctl() and compat_blkdev_ioctl(): only the BLKFILTER_* commands
 *   are redirected; every other command runs as before.
 * - del_gendisk() and device_del(): a filter is detached when its disk or
 *   partition goes away.  The partition functions of the block layer are
 *   static or inlined into their callers, so a partition is caught where its
 *   struct device is deleted, a call from another unit that stays a call.
 *
 * The ioctl hooks decide in the ftrace callback whether to redirect: a call
 * they leave alone runs the original by simply returning.  The device
 * removal handlers call del_gendisk() and device_del(), both exported, by
 * their names; the callback lets calls from this module through.
 *
 * The bio hook's handler calls __submit_bio() past its ftrace call site
 * (bf_hook_orig()): GCC disables IPA-RA for code built with -pg, so static
 * functions keep the standard calling convention.  It calls it by a static
 * call (bf_orig_submit_bio), a direct call instruction that the kernel
 * patches into our text at load, not through a pointer: with indirect
 * branch tracking only an indirect call or jump has to land on an ENDBR,
 * and __submit_bio() has none (nor would the kernel leave it one).  So the
 * handler is the same with IBT as without, a direct call of ftrace's and a
 * direct call of ours, and holds the SRCU read section that attach and
 * blkfilter_sync() wait for across the whole submission, as the in-tree
 * series' queue usage section does.  Only where the kernel counts call
 * depth for RSB stuffing and nothing asks for IBT safety does it call
 * through a pointer instead (bf_orig_by_pointer()).
 * Addresses come from kprobes, never from calling kallsyms_lookup_name().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/compat.h>
#include <linux/ftrace.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/objtool.h>
#include <linux/srcu.h>
#include <linux/static_call.h>
#include <linux/workqueue.h>
#include <asm/ibt.h>
#include <asm/orc_types.h>
#include <asm/text-patching.h>

#include "blkfilter.h"
#include "compat.h"

/*
 * ibt_safe: call no kernel function through a pointer, as indirect branch
 * tracking requires; on by itself where the CPU tracks indirect branches
 * (and with clang's CFI).  The hooks are the same either way, but where
 * the kernel counts call depth (bf_submit_mode_init()); forcing it lets
 * the tests check that the module loads and works so (QEMU's emulation
 * has no CET).  Set at load to the mode in use, which
 * /sys/module/blkfilter/parameters/ibt_safe then shows; read-only
 * afterwards.
 */
static bool ibt_safe;
module_param(ibt_safe, bool, 0444);
MODULE_PARM_DESC(ibt_safe,
		 "Call no kernel function through a pointer, as indirect branch tracking requires (default: only where the CPU tracks indirect branches)");

/**
 * struct bf_hook - a kernel function redirected to a handler of ours
 * @name: the function's name.
 * @handler: the replacement, with the same prototype.
 * @want: optional; decides from the arguments whether to redirect a call.
 *	Called in the ftrace callback: must not sleep.
 * @reenter: the handler calls the function by its name: the callback lets
 *	calls from this module through.
 * @past_site: the handler calls the original function past its ftrace
 *	call site, @orig.
 * @addr: the function's address, found at load time.
 * @orig: where the handler calls the original function, if @past_site:
 *	see bf_hook_orig().
 * @flags: @ops' flags as resolved, for a callback (a direct call changes
 *	them).
 * @ops: the ftrace registration.
 */
struct bf_hook {
	const char *name;
	void *handler;
	bool (*want)(struct pt_regs *regs);
	bool reenter;
	bool past_site;
	unsigned long addr;
	unsigned long orig;
	unsigned long flags;
	struct ftrace_ops ops;
};

/*
 * With indirect branch tracking on, a call through a pointer must land on
 * an ENDBR, and the kernel seals (overwrites) those of functions whose
 * address it never takes; static functions such as __submit_bio() often
 * have none at all.  Every kernel function that the chosen paths call
 * through a pointer is checked here, and the module refused if one cannot
 * be, rather than an oops at the first call.
 */
static int bf_check_callable(const char *name, unsigned long addr)
{
	if (!cpu_feature_enabled(X86_FEATURE_IBT) || is_endbr(*(u32 *)addr))
		return 0;
	pr_err("%s has no ENDBR and indirect branch tracking is on: it cannot be called through a pointer\n",
	       name);
	return -EOPNOTSUPP;
}

/*
 * The address of a kernel function, from a kprobe that is registered
 * disabled (nothing is patched) and unregistered at once: a module cannot
 * call kallsyms_lookup_name(), which is not exported and whose ENDBR the
 * kernel seals.
 */
static unsigned long bf_find_addr(const char *name)
{
	struct kprobe kp = {
		.symbol_name = name,
		.flags = KPROBE_FLAG_DISABLED,
	};
	unsigned long addr;
	int ret;

	ret = register_kprobe(&kp);
	if (ret) {
		pr_err("kernel function %s not found: %d\n", name, ret);
		return 0;
	}
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	/* With IBT the probe sits after the ENDBR: the function starts there. */
	if (ENDBR_INSN_SIZE && is_endbr(*(u32 *)(addr - ENDBR_INSN_SIZE)))
		addr -= ENDBR_INSN_SIZE;
	return addr;
}

/*
 * Whether the hooked function was called from our own text: then it is
 * our handler calling the original, which must not be redirected again.
 * Called for every bio, so one range (the text the handlers live in)
 * rather than within_module()'s walk over all of the module's sections.
 */
static __always_inline bool bf_called_by_us(unsigned long parent_ip)
{
#ifdef HAVE_MODULE_MEM_TYPE
	return within_module_mem_type(parent_ip, THIS_MODULE, MOD_TEXT);
#else
	return within_module_core(parent_ip, THIS_MODULE);
#endif
}

/* The registers of a callback that has them (FTRACE_OPS_FL_SAVE_REGS). */
static __always_inline struct pt_regs *bf_ftrace_regs(struct ftrace_regs *fregs)
{
	return ftrace_get_regs(fregs);
}

/* Where the call returns to: the handler instead of the function. */
static __always_inline void bf_ftrace_redirect(struct ftrace_regs *fregs,
					       void *to)
{
#if defined(CONFIG_DYNAMIC_FTRACE_WITH_ARGS) && defined(HAVE_FTRACE_REGS_SET_IP)
	ftrace_regs_set_instruction_pointer(fregs, (unsigned long)to);
#elif defined(CONFIG_DYNAMIC_FTRACE_WITH_ARGS)
	ftrace_instruction_pointer_set(fregs, (unsigned long)to);
#else
	instruction_pointer_set(bf_ftrace_regs(fregs), (unsigned long)to);
#endif
}

static void notrace bf_ftrace_thunk(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *ops,
				    struct ftrace_regs *fregs)
{
	struct bf_hook *hook = container_of(ops, struct bf_hook, ops);

	if (hook->reenter && bf_called_by_us(parent_ip))
		return;
	if (hook->want) {
		struct pt_regs *regs = bf_ftrace_regs(fregs);

		if (unlikely(!regs) || !hook->want(regs))
			return;
	}
	bf_ftrace_redirect(fregs, hook->handler);
}

/*
 * Where a handler calls the original function.  Calling it at its start
 * goes through ftrace again: the whole trampoline once more, and the thunk
 * only to find that the call comes from us (bf_called_by_us()), some tens
 * of instructions per bio.  Past the ftrace call site, the five bytes at
 * the start (after an ENDBR) that ftrace turns from a NOP into a call and
 * back, the original runs at once.  A direct call may land there, which
 * is what the static call makes; an indirect one only where the CPU does
 * not track indirect branches (which land on an ENDBR only) and without
 * clang's CFI (which checks a hash in front of the target).  The site is
 * recognized by its bytes, ftrace's NOP or a call, and anything else keeps
 * the start.
 */
static unsigned long bf_hook_orig(unsigned long addr)
{
	static const u8 nop5[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
	unsigned long site = addr;
	u8 insn[MCOUNT_INSN_SIZE];

	if (ENDBR_INSN_SIZE && is_endbr(*(u32 *)site))
		site += ENDBR_INSN_SIZE;
	if (copy_from_kernel_nofault(insn, (void *)site, sizeof(insn)))
		return addr;
	if (insn[0] != CALL_INSN_OPCODE && memcmp(insn, nop5, sizeof(nop5)))
		return addr;
	return site + MCOUNT_INSN_SIZE;
}

static int bf_hook_resolve(struct bf_hook *hook)
{
	int ret;

	hook->addr = bf_find_addr(hook->name);
	if (!hook->addr)
		return -ENOENT;
	if (hook->past_site) {
		hook->orig = bf_hook_orig(hook->addr);
		/* At the start, the callback lets our call through. */
		hook->reenter = hook->orig == hook->addr;
	}
	if (!hook->ops.func)
		hook->ops.func = bf_ftrace_thunk;
	hook->ops.flags = FTRACE_OPS_FL_IPMODIFY;
	/*
	 * Where ftrace passes the argument registers and lets the return
	 * address be changed, as livepatch relies on, a hook that needs no
	 * other register goes through the lighter trampoline, which saves no
	 * flags and no callee-saved registers: the bio hook runs per bio.
	 */
	if (hook->want || !IS_ENABLED(CONFIG_DYNAMIC_FTRACE_WITH_ARGS))
		hook->ops.flags |= FTRACE_OPS_FL_SAVE_REGS;
	ret = ftrace_set_filter_ip(&hook->ops, hook->addr, 0, 0);
	if (ret)
		pr_err("cannot trace %s: %d\n", hook->name, ret);
	hook->flags = hook->ops.flags;
	return ret;
}

static int bf_hook_register(struct bf_hook *hook)
{
	int ret = register_ftrace_function(&hook->ops);

	if (ret)
		pr_err("cannot hook %s: %d\n", hook->name, ret);
	return ret;
}

/* The bio path. */

static void bf_submit_bio(struct bio *bio) __used;

static struct bf_hook bf_submit_hook = {
	.name = "__submit_bio",
	.handler = bf_submit_bio,
	.past_site = true,
};

/*
 * Whether the kernel counts call depth for RSB stuffing (retbleed=stuff):
 * it counts a call in a thunk in front of the function called, which the
 * middle of __submit_bio() does not have.
 */
static bool bf_call_depth_counted(void)
{
#ifdef X86_FEATURE_CALL_DEPTH
	return cpu_feature_enabled(X86_FEATURE_CALL_DEPTH);
#else
	return false;
#endif
}

/* The original called through a pointer: see bf_submit_mode_init(). */
static void bf_orig_by_pointer(struct bio *bio)
{
	((void (*)(struct bio *))bf_submit_hook.orig)(bio);
}

/*
 * Where bf_submit_bio() calls the original: __submit_bio() past its ftrace
 * site, set by bf_submit_mode_init() before the hook is first registered
 * and not changed afterwards.
 */
DEFINE_STATIC_CALL(bf_orig_submit_bio, bf_orig_by_pointer);

/*
 * Replaces __submit_bio().  The SRCU read section covers the call of the
 * original too: attach waits for it, so that a bio that did not see a new
 * filter has been handed to the driver by the time attach drains the queue.
 */
static void bf_submit_bio(struct bio *bio)
{
	int idx;

	idx = srcu_read_lock(&bf_srcu);
	if (!bf_filter_bio(bio))
		static_call(bf_orig_submit_bio)(bio);
	srcu_read_unlock(&bf_srcu, idx);
}

/*
 * How bf_submit_bio() calls the original.  A static call wherever it can:
 * a direct call, which indirect branch tracking does not check, and which
 * costs less than an indirect one (a retpoline or a thunk where the CPU
 * needs them).  Where the kernel counts call depth, it would find no thunk
 * to count the call of a function's middle in: it warns once and counts
 * the call's return alone, which errs towards stuffing the RSB more often;
 * so there, unless IBT safety is asked for, a call through a pointer, which
 * goes through the kernel's counting thunk for indirect calls.  No CPU
 * both counts call depth (those affected by retbleed) and tracks indirect
 * branches, so the pointer is never needed with IBT: it is checked all the
 * same.
 */
static int bf_submit_mode_init(void)
{
	if (ibt_safe || !bf_call_depth_counted()) {
		static_call_update(bf_orig_submit_bio,
				   (void (*)(struct bio *))bf_submit_hook.orig);
		return 0;
	}
	return bf_check_callable(bf_submit_hook.name, bf_submit_hook.orig);
}

#if defined(CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS) && \
	(defined(HAVE_FTRACE_DIRECT_OPS) || defined(HAVE_FTRACE_DIRECT_MULTI))
/*
 * The bio hook as an ftrace direct call where the kernel has them: the call
 * at the start of __submit_bio() then goes straight to bf_submit_direct,
 * which drops its return address into __submit_bio() and jumps to the
 * handler, so that the handler returns to __submit_bio()'s caller.  No
 * trampoline saving and restoring registers, no callback to decide: some
 * 45 instructions less per bio of every device.
 *
 * Only where the handler calls the original past its call site (else the
 * call would come back here for ever) and where the kernel does not count
 * call depth for RSB stuffing (a call that never returns would skew the
 * count); otherwise, or if the kernel refuses (another direct call on the
 * function), the ftrace callback as for the other hooks.
 */
#define BF_DIRECT
/* For objtool: the stack as at a function's entry, before the jump. */
#ifdef HAVE_UNWIND_HINT_TYPE_FIRST
#define BF_HINT_FUNC UNWIND_HINT(UNWIND_HINT_TYPE_FUNC, ORC_REG_SP, 8, 0)
#else
#define BF_HINT_FUNC UNWIND_HINT(ORC_REG_SP, 8, UNWIND_HINT_TYPE_FUNC, 0)
#endif
asm(".pushsection .text, \"ax\", @progbits\n"
	".type bf_submit_direct, @function\n"
	"bf_submit_direct:\n"
	ASM_ENDBR
	"	addq $8, %rsp\n"
	BF_HINT_FUNC
	"	jmp bf_submit_bio\n"
	"	int3\n"
	".size bf_submit_direct, .-bf_submit_direct\n"
	".popsection\n");

static bool bf_direct_usable(void)
{
	return !bf_call_depth_counted() &&
	       bf_submit_hook.orig != bf_submit_hook.addr;
}

static int bf_direct_register(struct ftrace_ops *ops)
{
	/* The kernel sets the callback, the trampoline and the flags. */
	ops->func = NULL;
	ops->trampoline = 0;
#ifdef HAVE_FTRACE_DIRECT_OPS
	return register_ftrace_direct(ops, (unsigned long)bf_submit_direct);
#else
	return register_ftrace_direct_multi(ops,
					    (unsigned long)bf_submit_direct);
#endif
}

static void bf_direct_unregister(struct ftrace_ops *ops)
{
#ifdef HAVE_FTRACE_DIRECT_OPS
	unregister_ftrace_direct(ops, (unsigned long)bf_submit_direct, false);
#else
	unregister_ftrace_direct_multi(ops, (unsigned long)bf_submit_direct);
#endif
	/* Ready for another registration, direct or not. */
	ops->func = NULL;
	ops->trampoline = 0;
}
#endif

/*
 * The bio hook stays registered while any filter is attached, and is taken
 * away a little after the last detach (unregistering waits for RCU tasks,
 * which the detach path should not).
 */
static DEFINE_MUTEX(bf_submit_hook_mutex);
static unsigned int bf_submit_hook_users;	/* bf_submit_hook_mutex */
static bool bf_submit_hooked;			/* bf_submit_hook_mutex */
static bool bf_submit_direct_on;		/* bf_submit_hook_mutex */

/* Caller holds bf_submit_hook_mutex. */
static int bf_submit_hook_register(void)
{
	struct ftrace_ops *ops = &bf_submit_hook.ops;

#ifdef BF_DIRECT
	if (bf_direct_usable()) {
		int ret = bf_direct_register(ops);

		bf_submit_direct_on = !ret;
		if (!ret)
			return 0;
		pr_info("no direct call on %s (%d), the ftrace callback instead\n",
			bf_submit_hook.name, ret);
	}
#endif
	ops->func = bf_ftrace_thunk;
	ops->trampoline = 0;
	ops->flags = bf_submit_hook.flags;
	return bf_hook_register(&bf_submit_hook);
}

/* Caller holds bf_submit_hook_mutex, or is module exit. */
static void bf_submit_hook_unregister(void)
{
#ifdef BF_DIRECT
	if (bf_submit_direct_on) {
		bf_direct_unregister(&bf_submit_hook.ops);
		bf_submit_direct_on = false;
		return;
	}
#endif
	unregister_ftrace_function(&bf_submit_hook.ops);
}

static void bf_submit_unhook_fn(struct work_struct *work)
{
	mutex_lock(&bf_submit_hook_mutex);
	if (!bf_submit_hook_users && bf_submit_hooked) {
		bf_submit_hook_unregister();
		bf_submit_hooked = false;
	}
	mutex_unlock(&bf_submit_hook_mutex);
}

static DECLARE_DELAYED_WORK(bf_submit_unhook_work, bf_submit_unhook_fn);

/**
 * bf_submit_hook_get() - make sure that bios reach the filters
 *
 * Context: process; may sleep.
 * Return: 0 or a negative errno.
 */
int bf_submit_hook_get(void)
{
	int ret = 0;

	mutex_lock(&bf_submit_hook_mutex);
	if (!bf_submit_hooked) {
		ret = bf_submit_hook_register();
		bf_submit_hooked = !ret;
	}
	if (!ret)
		bf_submit_hook_users++;
	mutex_unlock(&bf_submit_hook_mutex);
	return ret;
}

/**
 * bf_submit_hook_put() - drop what bf_submit_hook_get() took
 *
 * Context: process; may sleep briefly, never waits for I/O.
 */
void bf_submit_hook_put(void)
{
	mutex_lock(&bf_submit_hook_mutex);
	if (!--bf_submit_hook_users)
		mod_delayed_work(system_wq, &bf_submit_unhook_work, HZ);
	mutex_unlock(&bf_submit_hook_mutex);
}

/* The ioctls. */

/*
 * Only the BLKFILTER_* commands go to the handlers, each holding a
 * reference on this module that the handler drops: while the module goes
 * away the callback lets the call through, and the kernel answers as if
 * the module never came.
 */
static bool notrace bf_want_ioctl(struct pt_regs *regs)
{
	unsigned int cmd = regs_get_kernel_argument(regs, 1);

	if (cmd != BLKFILTER_ATTACH && cmd != BLKFILTER_DETACH &&
	    cmd != BLKFILTER_CTL)
		return false;
	return try_module_get(THIS_MODULE);
}

static long bf_blkdev_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg);
static long bf_compat_blkdev_ioctl(struct file *file, unsigned int cmd,
				   unsigned long arg);

static struct bf_hook bf_ioctl_hook = {
	.name = "blkdev_ioctl",
	.handler = bf_blkdev_ioctl,
	.want = bf_want_ioctl,
};

static struct bf_hook bf_compat_ioctl_hook = {
	.name = "compat_blkdev_ioctl",
	.handler = bf_compat_blkdev_ioctl,
	.want = bf_want_ioctl,
};

static long bf_blkdev_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	long ret;

	ret = blkfilter_ioctl(I_BDEV(file->f_mapping->host), cmd,
			      (void __user *)arg);
	module_put(THIS_MODULE);
	return ret;
}

static long bf_compat_blkdev_ioctl(struct file *file, unsigned int cmd,
				   unsigned long arg)
{
	long ret;

	/* The structures have the same layout for 32-bit callers. */
	ret = blkfilter_ioctl(I_BDEV(file->f_mapping->host), cmd,
			      compat_ptr(arg));
	module_put(THIS_MODULE);
	return ret;
}

/* Devices going away. */

static void bf_del_gendisk(struct gendisk *disk);
static void bf_device_del(struct device *dev);

static struct bf_hook bf_del_gendisk_hook = {
	.name = "del_gendisk",
	.handler = bf_del_gendisk,
	.reenter = true,
};

/* Only the devices of disks and partitions are of interest. */
static bool notrace bf_want_device_del(struct pt_regs *regs)
{
	struct device *dev = (void *)regs_get_kernel_argument(regs, 0);

	return dev && dev->class == bf_block_class;
}

static struct bf_hook bf_device_del_hook = {
	.name = "device_del",
	.handler = bf_device_del,
	.want = bf_want_device_del,
	.reenter = true,
};

/*
 * Around the kernel's deletion of a device: detach its filters first and
 * keep new ones off it until the deletion is done.  The handlers call the
 * exported functions by name, through their ftrace sites (not on the I/O
 * path), where the callback lets calls from this module through.  Nothing to do while
 * this module goes away: no filter is attached then.
 */
static bool bf_deletion_begin(struct blkfilter_dying *dying)
{
	if (!try_module_get(THIS_MODULE))
		return false;
	blkfilter_device_going(dying);
	return true;
}

static void bf_deletion_end(struct blkfilter_dying *dying, bool begun)
{
	if (!begun)
		return;
	blkfilter_device_gone(dying);
	module_put(THIS_MODULE);
}

static void bf_del_gendisk(struct gendisk *disk)
{
	struct blkfilter_dying dying = { .disk = disk };
	bool begun = bf_deletion_begin(&dying);

	del_gendisk(disk);
	bf_deletion_end(&dying, begun);
}

static void bf_device_del(struct device *dev)
{
	struct block_device *bdev = dev_to_bdev(dev);
	struct blkfilter_dying dying = { .part = bdev };
	bool begun = bdev_is_partition(bdev) && bf_deletion_begin(&dying);

	device_del(dev);
	bf_deletion_end(&dying, begun);
}

static struct bf_hook *bf_static_hooks[] = {
	&bf_ioctl_hook,
	&bf_compat_ioctl_hook,
	&bf_del_gendisk_hook,
	&bf_device_del_hook,
};

static void bf_hooks_free(void)
{
	int i;

	ftrace_free_filter(&bf_submit_hook.ops);
	for (i = 0; i < ARRAY_SIZE(bf_static_hooks); i++)
		ftrace_free_filter(&bf_static_hooks[i]->ops);
}

/**
 * bf_hooks_init() - find the kernel functions and hook the permanent ones
 *
 * Context: module init, after bf_sysfs_init() has set bf_block_class.
 * Return: 0 or a negative errno; nothing stays hooked on failure.
 */
int bf_hooks_init(void)
{
	bool forced = ibt_safe;
	int i, ret;

	ibt_safe = forced || cpu_feature_enabled(X86_FEATURE_IBT) ||
		   IS_ENABLED(CONFIG_CFI_CLANG);
	ret = bf_hook_resolve(&bf_submit_hook);
	if (!ret)
		ret = bf_submit_mode_init();
	for (i = 0; !ret && i < ARRAY_SIZE(bf_static_hooks); i++)
		ret = bf_hook_resolve(bf_static_hooks[i]);
	if (ret)
		goto free;
	for (i = 0; i < ARRAY_SIZE(bf_static_hooks); i++) {
		ret = bf_hook_register(bf_static_hooks[i]);
		if (ret)
			goto unhook;
	}
	if (ibt_safe)
		pr_info("IBT-safe hooks%s: no kernel function is called through a pointer\n",
			forced ? " (ibt_safe=1)" : "");
	return 0;
unhook:
	while (--i >= 0)
		unregister_ftrace_function(&bf_static_hooks[i]->ops);
free:
	bf_hooks_free();
	return ret;
}

/**
 * bf_hooks_exit() - take every hook away and wait for the handlers to end
 *
 * Context: module exit, when no filter is attached.
 */
void bf_hooks_exit(void)
{
	int i;

	cancel_delayed_work_sync(&bf_submit_unhook_work);
	if (bf_submit_hooked)
		bf_submit_hook_unregister();
	for (i = ARRAY_SIZE(bf_static_hooks) - 1; i >= 0; i--)
		unregister_ftrace_function(&bf_static_hooks[i]->ops);
	bf_hooks_free();
	/* Handlers still on the way out, blocked or preempted, finish here. */
	synchronize_srcu(&bf_srcu);
	synchronize_rcu_tasks();
}
