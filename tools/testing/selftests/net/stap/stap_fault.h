/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault injection for the stap selftests (Documentation/fault-injection/):
 * failslab and fail_page_alloc limited to allocations made with stap's
 * code on the stack (the stacktrace filter, set to the module's text),
 * and fail_function on stap's functions marked ALLOW_ERROR_INJECTION.
 * With the task filter on, process-context faults hit only tasks with
 * make-it-fail set, and none in softirq: to reach softirq, the filter is
 * off and a probability and a count bound the faults.
 */
#ifndef _STAP_FAULT_H
#define _STAP_FAULT_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define STAP_FAULT_DIR	"/sys/kernel/debug"

static inline int stap_fault_write(const char *attr, const char *path,
				   const char *val)
{
	char name[256];
	FILE *f;
	int ok;

	snprintf(name, sizeof(name), STAP_FAULT_DIR "/%s/%s", attr, path);
	f = fopen(name, "w");
	if (!f)
		return -1;
	ok = fputs(val, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static inline int stap_fault_writel(const char *attr, const char *path,
				    long long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", val);
	return stap_fault_write(attr, path, buf);
}

static inline int stap_fault_writeu(const char *attr, const char *path,
				    unsigned long long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", val);
	return stap_fault_write(attr, path, buf);
}

/* Whether this kernel has the debugfs knobs of failslab, fail_page_alloc
 * and fail_function (CONFIG_FAULT_INJECTION_DEBUG_FS, FAIL_FUNCTION,
 * FAULT_INJECTION_STACKTRACE_FILTER).
 */
static inline bool stap_fault_available(void)
{
	return !access(STAP_FAULT_DIR "/failslab/require-start", W_OK) &&
	       !access(STAP_FAULT_DIR "/fail_page_alloc/require-start", W_OK) &&
	       !access(STAP_FAULT_DIR "/fail_function/inject", W_OK);
}

/* The range of stap's text: from its .text section to its last text
 * symbol, plus a page for that function's own code.
 */
static inline int stap_fault_text(unsigned long long *start,
				  unsigned long long *end)
{
	char type, name[128], mod[64];
	unsigned long long a;
	FILE *f;

	f = fopen("/sys/module/stap/sections/.text", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%llx", start) != 1)
		*start = 0;
	fclose(f);
	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return -1;
	*end = 0;
	while (fscanf(f, "%llx %c %127s%*[ \t]", &a, &type, name) == 3) {
		if (fscanf(f, "[%63[^]]]", mod) == 1 && !strcmp(mod, "stap") &&
		    (type == 't' || type == 'T') && a > *end)
			*end = a;
		fscanf(f, "%*[^\n]");
	}
	fclose(f);
	if (!*start || *end <= *start)
		return -1;
	*end += 4096;
	return 0;
}

/**
 * stap_fault_arm() - fail allocations made under stap's code
 * @attr: "failslab" or "fail_page_alloc"
 * @probability: percent of the calls that fail
 * @times: how many failures at most (-1: no limit)
 * @task_filter: only in process context, in tasks with make-it-fail set
 *
 * Return: 0, or -1 when a knob could not be set.
 */
static inline int stap_fault_arm(const char *attr, int probability,
				 long times, bool task_filter)
{
	unsigned long long start, end;

	if (stap_fault_text(&start, &end))
		return -1;
	if (stap_fault_writeu(attr, "require-start", start) ||
	    stap_fault_writeu(attr, "require-end", end) ||
	    stap_fault_writel(attr, "stacktrace-depth", 32) ||
	    stap_fault_write(attr, "task-filter", task_filter ? "Y" : "N") ||
	    stap_fault_write(attr, "ignore-gfp-wait", "N") ||
	    stap_fault_writel(attr, "verbose", 0) ||
	    stap_fault_writel(attr, "interval", 1) ||
	    stap_fault_writel(attr, "times", times))
		return -1;
	if (!strcmp(attr, "fail_page_alloc") &&
	    (stap_fault_write(attr, "ignore-gfp-highmem", "N") ||
	     stap_fault_writel(attr, "min-order", 0)))
		return -1;
	return stap_fault_writel(attr, "probability", probability);
}

/* Stop failing (failslab, fail_page_alloc or fail_function) */
static inline int stap_fault_disarm(const char *attr)
{
	/* Only spaces: every function goes */
	if (!strcmp(attr, "fail_function") &&
	    stap_fault_write(attr, "inject", " "))
		return -1;
	return stap_fault_writel(attr, "probability", 0);
}

/**
 * stap_fault_function() - make @func return @retval
 * @func: a function of stap marked ALLOW_ERROR_INJECTION
 * @retval: what it returns instead of running (0 for NULL)
 * @times: how many calls fail
 *
 * Every context: the call may come from softirq.
 *
 * Return: 0, or -1 when a knob could not be set.
 */
static inline int stap_fault_function(const char *func, long retval,
				      long times)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/retval", func);
	if (stap_fault_write("fail_function", "inject", func) ||
	    stap_fault_writel("fail_function", path, retval) ||
	    stap_fault_write("fail_function", "task-filter", "N") ||
	    stap_fault_writel("fail_function", "verbose", 0) ||
	    stap_fault_writel("fail_function", "interval", 1) ||
	    stap_fault_writel("fail_function", "times", times))
		return -1;
	return stap_fault_writel("fail_function", "probability", 100);
}

/* A page fault in a copy to user memory whose allocation is failed
 * returns EFAULT, tapped or not: map the test's memory, and what it maps
 * later, at once. Threads then get small stacks, which are mapped whole.
 */
static inline int stap_fault_lock_memory(void)
{
	pthread_attr_t attr;
	int err;

	if (pthread_attr_init(&attr))
		return -1;
	err = pthread_attr_setstacksize(&attr, 256 << 10) ||
	      pthread_setattr_default_np(&attr);
	pthread_attr_destroy(&attr);
	if (err)
		return -1;
	return mlockall(MCL_CURRENT | MCL_FUTURE);
}

/* Whether the calling thread's process-context allocations may fail */
static inline int stap_make_it_fail(bool on)
{
	FILE *f = fopen("/proc/thread-self/make-it-fail", "w");
	int ok;

	if (!f)
		return -1;
	ok = fputs(on ? "1" : "0", f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* failslab and fail_page_alloc alike (stap_fault_arm()), and, with
 * @task_filter, the calling thread and those it starts from now on
 */
static inline int stap_fault_arm_allocs(int probability, long times,
					bool task_filter)
{
	if (stap_fault_arm("failslab", probability, times, task_filter) ||
	    stap_fault_arm("fail_page_alloc", probability, times, task_filter))
		return -1;
	return stap_make_it_fail(task_filter);
}

/* Undo stap_fault_arm_allocs() and stap_fault_function() */
static inline void stap_fault_disarm_all(void)
{
	stap_make_it_fail(false);
	stap_fault_disarm("failslab");
	stap_fault_disarm("fail_page_alloc");
	stap_fault_disarm("fail_function");
}

/* Failures still to come of @attr ("times" counts down as they happen) */
static inline long long stap_fault_left(const char *attr)
{
	char name[256];
	long long v = -2;
	FILE *f;

	snprintf(name, sizeof(name), STAP_FAULT_DIR "/%s/times", attr);
	f = fopen(name, "r");
	if (!f)
		return -2;
	if (fscanf(f, "%lld", &v) != 1)
		v = -2;
	fclose(f);
	return v;
}

#endif /* _STAP_FAULT_H */
