// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx-tool: perf_event_open() of lbrctx events from the command line,
 * the way the tests and benchmarks use it and a user can: open one event
 * and see its errno, hold one and watch it count, run a table of
 * attributes. Build it with
 *   gcc -O2 -o lbrctx-tool scripts/lbrctx-tool.c -lpthread
 * (make check and make bench build it on the host for their guests).
 *
 *   lbrctx-tool attr TABLE          run a perf_event_attr table (bad input,
 *                                   privilege); one "ok NAME" or
 *                                   "FAIL NAME: why" line per row
 *   lbrctx-tool open SPEC...        open one event, print the errno name
 *   lbrctx-tool hold SECONDS SPEC   open an event (print the time it took),
 *                                   hold it, print its count
 *   lbrctx-tool storm SECONDS N MIN thread and fork churn, N threads a batch,
 *                                   at least MIN threads
 *   lbrctx-tool openclose SECONDS   open and close per-process and
 *                                   system-wide events in a loop
 *   lbrctx-tool p1 ROUNDS N         pipe ping-pong on one CPU, event off/on
 *   lbrctx-tool p4 ROUNDS N         fork+exit rate, event off/on
 *   lbrctx-tool p1other ROUNDS N    p1 with the event per-task, on a task
 *                                   that runs on CPU 1 (no event on CPU 0)
 *   lbrctx-tool p1othersw ROUNDS N  the same with a software event (cpu-clock)
 *   lbrctx-tool p4all ROUNDS N      p4 with a forker pinned to every CPU
 *   lbrctx-tool ucalls N            N calls of a function U1 probes
 *   lbrctx-tool p1two ROUNDS N      ping-pong with one configuration
 *                                   against two (a second unit)
 *   lbrctx-tool reads N             N one-byte reads of /dev/zero
 *   lbrctx-tool pairs WORK LONGWORK events of different configurations at
 *                                   once (see cmd_pairs)
 *   lbrctx-tool write PATH TEXT     write TEXT ("\n" for newlines; @FILE:
 *                                   FILE's bytes as they are) to PATH in
 *                                   one write(); print the errno name
 *   lbrctx-tool writetime PATH FILE the same with FILE's bytes; print the
 *                                   errno name and the write()'s time (ns=)
 *
 * A SPEC is a list of key=value words, for example
 *   type=lbrctx config=0x100 period=100000 sample=branch_stack branch=any
 * Keys: type (lbrctx, sw, hw or a number), config, config1, config2, period,
 * freq, sample (ip,tid,branch_stack,raw,aux,callchain), branch (names or a
 * number), exclude (user,kernel,hv,idle,host,guest), inherit, sigtrap,
 * remove_on_exec, pinned, exclusive, precise, size, pid (self, child, init,
 * or a number), cpu, group (sw, lbrctx), leader_cpu.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The event config layout: the same table the module builds sysfs format/ from. */
#include "../include/lbrctx/config.h"

/* lbrctx/callstack/: the LBR sampled by time, call-stack mode. */
#define CFG_CALLSTACK LBRCTX_CFG(cs, 1)

static int lbrctx_type = -1;

static long perf_open(struct perf_event_attr *a, pid_t pid, int cpu, int group, unsigned long fl)
{
	return syscall(SYS_perf_event_open, a, pid, cpu, group, fl);
}

static int pmu_type(void)
{
	FILE *f;

	if (lbrctx_type >= 0)
		return lbrctx_type;
	f = fopen("/sys/bus/event_source/devices/lbrctx/type", "r");
	if (!f || fscanf(f, "%d", &lbrctx_type) != 1) {
		fprintf(stderr, "lbrctx-tool: no lbrctx PMU in sysfs\n");
		exit(2);
	}
	fclose(f);
	return lbrctx_type;
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "ok";
	case EINVAL: return "EINVAL";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ESRCH: return "ESRCH";
	case ENODEV: return "ENODEV";
	case E2BIG: return "E2BIG";
	case EISDIR: return "EISDIR";
	case ENOEXEC: return "ENOEXEC";
	case ENOSPC: return "ENOSPC";
	case EEXIST: return "EEXIST";
	case EIO: return "EIO";
	case ENOMEM: return "ENOMEM";
	case EBUSY: return "EBUSY";
	case EFAULT: return "EFAULT";
	case EBADF: return "EBADF";
	default: return strerror(e);
	}
}

struct name_bit {
	const char *name;
	unsigned long long bit;
};

static const struct name_bit branch_names[] = {
	{ "user", PERF_SAMPLE_BRANCH_USER }, { "kernel", PERF_SAMPLE_BRANCH_KERNEL },
	{ "hv", PERF_SAMPLE_BRANCH_HV }, { "any", PERF_SAMPLE_BRANCH_ANY },
	{ "any_call", PERF_SAMPLE_BRANCH_ANY_CALL },
	{ "any_return", PERF_SAMPLE_BRANCH_ANY_RETURN },
	{ "ind_call", PERF_SAMPLE_BRANCH_IND_CALL }, { "abort_tx", PERF_SAMPLE_BRANCH_ABORT_TX },
	{ "in_tx", PERF_SAMPLE_BRANCH_IN_TX }, { "no_tx", PERF_SAMPLE_BRANCH_NO_TX },
	{ "cond", PERF_SAMPLE_BRANCH_COND }, { "call_stack", PERF_SAMPLE_BRANCH_CALL_STACK },
	{ "ind_jump", PERF_SAMPLE_BRANCH_IND_JUMP }, { "call", PERF_SAMPLE_BRANCH_CALL },
	{ "no_flags", PERF_SAMPLE_BRANCH_NO_FLAGS }, { "no_cycles", PERF_SAMPLE_BRANCH_NO_CYCLES },
	{ "type_save", PERF_SAMPLE_BRANCH_TYPE_SAVE }, { "hw_index", PERF_SAMPLE_BRANCH_HW_INDEX },
	{ "priv_save", 1ULL << 18 /* PERF_SAMPLE_BRANCH_PRIV_SAVE, 6.1+ */ },
	{ NULL, 0 }
};

static const struct name_bit sample_names[] = {
	{ "ip", PERF_SAMPLE_IP }, { "tid", PERF_SAMPLE_TID }, { "time", PERF_SAMPLE_TIME },
	{ "callchain", PERF_SAMPLE_CALLCHAIN }, { "raw", PERF_SAMPLE_RAW },
	{ "branch_stack", PERF_SAMPLE_BRANCH_STACK }, { "aux", 1ULL << 20 /* PERF_SAMPLE_AUX */ },
	{ "regs_intr", PERF_SAMPLE_REGS_INTR },
	{ NULL, 0 }
};

static int parse_bits(const struct name_bit *t, const char *v, unsigned long long *out)
{
	char buf[256], *tok, *save;

	*out = 0;
	if (v[0] >= '0' && v[0] <= '9') {
		*out = strtoull(v, NULL, 0);
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct name_bit *n;

		for (n = t; n->name && strcmp(n->name, tok); n++)
			;
		if (!n->name) {
			fprintf(stderr, "lbrctx-tool: unknown name '%s'\n", tok);
			return -1;
		}
		*out |= n->bit;
	}
	return 0;
}

struct spec {
	struct perf_event_attr a;
	pid_t pid;
	int cpu;
	int group_type;		/* -1: none */
	int leader_cpu;
	int child;		/* pid=child: a child that waits */
	int init;		/* pid=init: pid 1 */
};

static int parse_spec(int argc, char **argv, struct spec *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->a.size = sizeof(s->a);
	s->a.type = pmu_type();
	s->a.disabled = 0;
	s->pid = 0;
	s->cpu = -1;
	s->group_type = -1;
	s->leader_cpu = -2;
	for (i = 0; i < argc; i++) {
		char *k = argv[i], *v = strchr(k, '=');
		unsigned long long x = 0;

		if (!v) {
			fprintf(stderr, "lbrctx-tool: '%s' is not key=value\n", k);
			return -1;
		}
		*v++ = 0;
		if (!strcmp(k, "type")) {
			if (!strcmp(v, "lbrctx"))
				s->a.type = pmu_type();
			else if (!strcmp(v, "sw"))
				s->a.type = PERF_TYPE_SOFTWARE;
			else if (!strcmp(v, "hw"))
				s->a.type = PERF_TYPE_HARDWARE;
			else
				s->a.type = strtoul(v, NULL, 0);
		} else if (!strcmp(k, "config")) {
			s->a.config = strtoull(v, NULL, 0);
		} else if (!strcmp(k, "config1")) {
			s->a.config1 = strtoull(v, NULL, 0);
		} else if (!strcmp(k, "config2")) {
			s->a.config2 = strtoull(v, NULL, 0);
		} else if (!strcmp(k, "period")) {
			s->a.sample_period = strtoull(v, NULL, 0);
		} else if (!strcmp(k, "freq")) {
			s->a.freq = 1;
			s->a.sample_freq = strtoull(v, NULL, 0);
		} else if (!strcmp(k, "sample")) {
			if (parse_bits(sample_names, v, &x))
				return -1;
			s->a.sample_type = x;
		} else if (!strcmp(k, "branch")) {
			if (parse_bits(branch_names, v, &x))
				return -1;
			s->a.branch_sample_type = x;
			s->a.sample_type |= PERF_SAMPLE_BRANCH_STACK;
		} else if (!strcmp(k, "exclude")) {
			s->a.exclude_user = !!strstr(v, "user");
			s->a.exclude_kernel = !!strstr(v, "kernel");
			s->a.exclude_hv = !!strstr(v, "hv");
			s->a.exclude_idle = !!strstr(v, "idle");
			s->a.exclude_host = !!strstr(v, "host");
			s->a.exclude_guest = !!strstr(v, "guest");
		} else if (!strcmp(k, "inherit")) {
			s->a.inherit = atoi(v);
		} else if (!strcmp(k, "sigtrap")) {
			s->a.sigtrap = atoi(v);
		} else if (!strcmp(k, "remove_on_exec")) {
			s->a.remove_on_exec = atoi(v);
		} else if (!strcmp(k, "pinned")) {
			s->a.pinned = atoi(v);
		} else if (!strcmp(k, "exclusive")) {
			s->a.exclusive = atoi(v);
		} else if (!strcmp(k, "precise")) {
			s->a.precise_ip = atoi(v);
		} else if (!strcmp(k, "size")) {
			s->a.size = strtoul(v, NULL, 0);
		} else if (!strcmp(k, "pid")) {
			if (!strcmp(v, "self"))
				s->pid = 0;
			else if (!strcmp(v, "child"))
				s->child = 1;
			else if (!strcmp(v, "init"))
				s->init = 1;
			else
				s->pid = atoi(v);
		} else if (!strcmp(k, "cpu")) {
			s->cpu = atoi(v);
		} else if (!strcmp(k, "group")) {
			s->group_type = !strcmp(v, "sw") ? PERF_TYPE_SOFTWARE : pmu_type();
		} else if (!strcmp(k, "leader_cpu")) {
			s->leader_cpu = atoi(v);
		} else {
			fprintf(stderr, "lbrctx-tool: unknown key '%s'\n", k);
			return -1;
		}
	}
	return 0;
}

/* Open SPEC's event (and its group leader); return 0 or the errno. */
static int open_spec(struct spec *s, int *fdp, int *leaderp, pid_t *childp)
{
	int leader = -1, fd, err = 0;
	pid_t pid = s->pid, child = 0;

	if (s->child) {
		child = fork();
		if (child == 0) {
			pause();
			_exit(0);
		}
		pid = child;
	}
	if (s->init)
		pid = 1;
	if (s->group_type >= 0) {
		struct perf_event_attr l = { .size = sizeof(l), .type = s->group_type };

		if (s->group_type == PERF_TYPE_SOFTWARE)
			l.config = PERF_COUNT_SW_CPU_CLOCK;
		else
			l.config = 1;	/* lbrctx branches */
		l.exclude_kernel = s->a.exclude_kernel;
		leader = perf_open(&l, pid, s->leader_cpu == -2 ? s->cpu : s->leader_cpu, -1,
				   PERF_FLAG_FD_CLOEXEC);
		if (leader < 0) {
			err = errno;
			fprintf(stderr, "lbrctx-tool: group leader: %s\n", errname(err));
			goto out;
		}
	}
	fd = perf_open(&s->a, pid, s->cpu, leader, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		err = errno;
	else
		*fdp = fd;
out:
	*leaderp = leader;
	*childp = child;
	return err;
}

static void close_spec(int fd, int leader, pid_t child)
{
	if (fd >= 0)
		close(fd);
	if (leader >= 0)
		close(leader);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
}

static int try_spec(int argc, char **argv, int *err)
{
	struct spec s;
	int fd = -1, leader = -1;
	pid_t child = 0;

	if (parse_spec(argc, argv, &s))
		return -1;
	*err = open_spec(&s, &fd, &leader, &child);
	close_spec(fd, leader, child);
	return 0;
}

/*
 * attr TABLE: each line is "NAME EXPECT KEY=VALUE...", EXPECT an errno name
 * or ok; "#" starts a comment. A row whose EXPECT is "same-as-sw" must be
 * refused for privilege (EACCES/EPERM) exactly when the same attributes on
 * the software cpu-clock PMU are.
 */
static int cmd_attr(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int fails = 0, rows = 0;

	if (!f) {
		perror(path);
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		char *argv[32], *tok, *save, *name, *expect;
		int argc = 0, err = 0;

		line[strcspn(line, "#\n")] = 0;
		name = strtok_r(line, " \t", &save);
		if (!name)
			continue;
		expect = strtok_r(NULL, " \t", &save);
		if (!expect) {
			printf("FAIL %s: no expected result\n", name);
			fails++;
			continue;
		}
		while ((tok = strtok_r(NULL, " \t", &save)) && argc < 31)
			argv[argc++] = tok;
		rows++;
		char *copy[32];
		char buf[32][128];

		for (int i = 0; i < argc; i++) {
			snprintf(buf[i], sizeof(buf[i]), "%s", argv[i]);
			copy[i] = buf[i];
		}
		if (try_spec(argc, argv, &err)) {
			printf("FAIL %s: bad row\n", name);
			fails++;
			continue;
		}
		if (!strncmp(expect, "priv:", 5)) {
			/* priv:WANT: WANT, and privilege refused as on the software PMU. */
			int ref = 0, e1, e2;
			char t[] = "type=sw", c[] = "config=0";

			copy[argc] = t;
			copy[argc + 1] = c;
			if (try_spec(argc + 2, copy, &ref)) {
				printf("FAIL %s: bad reference row\n", name);
				fails++;
				continue;
			}
			e1 = err == EACCES || err == EPERM;
			e2 = ref == EACCES || ref == EPERM;
			if (strcmp(errname(err), expect + 5) || e1 != e2) {
				printf("FAIL %s: got %s, want %s; software PMU got %s\n", name,
				       errname(err), expect + 5, errname(ref));
				fails++;
			} else {
				printf("ok %s %s (software PMU: %s)\n", name, errname(err), errname(ref));
			}
			continue;
		}
		if (strcmp(errname(err), expect)) {
			printf("FAIL %s: got %s, want %s\n", name, errname(err), expect);
			fails++;
		} else {
			printf("ok %s %s\n", name, expect);
		}
	}
	fclose(f);
	if (!rows) {
		printf("FAIL %s: no rows\n", path);
		return 1;
	}
	return fails ? 1 : 0;
}

static int cmd_open(int argc, char **argv)
{
	int err = 0;

	if (try_spec(argc, argv, &err))
		return 2;
	printf("%s\n", errname(err));
	return err ? 1 : 0;
}

/*
 * hold SECONDS SPEC: open, print "opened ns=N" (the open's time), wait,
 * print "count N" (read() of the event).
 */
static int cmd_hold(int argc, char **argv)
{
	struct spec s;
	int fd = -1, leader = -1, err;
	pid_t child = 0;
	unsigned long long c0 = 0, c1 = 0;
	double secs = atof(argv[0]), t0;

	if (parse_spec(argc - 1, argv + 1, &s))
		return 2;
	t0 = now_ns();
	err = open_spec(&s, &fd, &leader, &child);
	if (err) {
		printf("%s\n", errname(err));
		return 1;
	}
	printf("opened ns=%.0f\n", now_ns() - t0);
	fflush(stdout);
	if (read(fd, &c0, sizeof(c0)) != sizeof(c0))
		return 1;
	usleep(secs * 1e6);
	if (read(fd, &c1, sizeof(c1)) != sizeof(c1))
		return 1;
	printf("count %llu grew %llu\n", c1, c1 - c0);
	close_spec(fd, leader, child);
	return 0;
}

static void *thread_fn(void *arg)
{
	char b;
	int fd = open("/dev/zero", O_RDONLY);

	if (fd >= 0) {
		if (read(fd, &b, 1) < 0)
			b = 0;
		close(fd);
	}
	return arg;
}

/*
 * storm SECONDS N MIN: batches of N threads that read and exit, and forks,
 * for at least SECONDS and MIN threads (at most 180 s); fails short of MIN.
 */
static int cmd_storm(double secs, int n, unsigned long min)
{
	double start = now_ns(), end = start + secs * 1e9, cap = start + 180e9;
	unsigned long threads = 0, forks = 0;
	pthread_t *t = calloc(n, sizeof(*t));

	while ((now_ns() < end || threads < min) && now_ns() < cap) {
		int i, made = 0;

		for (i = 0; i < n; i++)
			if (!pthread_create(&t[i], NULL, thread_fn, NULL))
				made = i + 1;
			else
				break;
		for (i = 0; i < made; i++)
			pthread_join(t[i], NULL);
		threads += made;
		for (i = 0; i < 16; i++) {
			pid_t p = fork();

			if (p == 0) {
				thread_fn(NULL);
				_exit(0);
			}
			if (p > 0)
				forks++;
		}
		while (wait(NULL) > 0)
			;
	}
	printf("storm threads=%lu forks=%lu seconds=%.1f\n", threads, forks, (now_ns() - start) / 1e9);
	return threads >= min ? 0 : 1;
}

/* Open a counting call-stack event on every online CPU; return how many. */
static int open_global(int *fds, int max, unsigned long long config)
{
	struct perf_event_attr a = { .size = sizeof(a), .type = pmu_type(), .config = config };
	int n = 0, cpu, ncpu = sysconf(_SC_NPROCESSORS_CONF);

	for (cpu = 0; cpu < ncpu && n < max; cpu++) {
		int fd = perf_open(&a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

		if (fd >= 0)
			fds[n++] = fd;
		else if (errno != ENODEV)	/* ENODEV: the CPU is offline */
			return -errno;
	}
	return n;
}

static void close_all(int *fds, int n)
{
	while (n-- > 0)
		close(fds[n]);
}

/* openclose SECONDS: events opened and closed in a loop; errno counts. */
static int cmd_openclose(double secs)
{
	double end = now_ns() + secs * 1e9;
	unsigned long opens = 0, errs = 0, rounds = 0;
	int fds[128];

	while (now_ns() < end) {
		struct perf_event_attr a = { .size = sizeof(a), .type = pmu_type(),
					     .config = CFG_CALLSTACK, .inherit = 1 };
		int n, fd;
		pid_t p = fork();

		if (p == 0) {
			usleep(2000);
			_exit(0);
		}
		fd = perf_open(&a, p, -1, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd >= 0) {
			opens++;
		} else if (errno != ESRCH) {
			errs++;
			fprintf(stderr, "per-process open: %s\n", errname(errno));
		}
		n = open_global(fds, 128, CFG_CALLSTACK);
		if (n < 0) {
			errs++;
			fprintf(stderr, "system-wide open: %s\n", errname(-n));
		} else {
			opens += n;
		}
		usleep(1000);
		if (n > 0)
			close_all(fds, n);
		if (fd >= 0)
			close(fd);
		waitpid(p, NULL, 0);
		rounds++;
	}
	printf("openclose rounds=%lu opens=%lu errors=%lu\n", rounds, opens, errs);
	return errs ? 1 : 0;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* N pipe round trips between two tasks on CPU 0; ns per round trip. */
static double pingpong(long n)
{
	int ab[2], ba[2];
	char c = 0;
	pid_t p;
	double t0, t1;
	long i;

	if (pipe(ab) || pipe(ba))
		exit(2);
	pin(0);
	p = fork();
	if (p == 0) {
		for (i = 0; i < n; i++) {
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			exit(2);
	}
	t1 = now_ns();
	waitpid(p, NULL, 0);
	close(ab[0]); close(ab[1]); close(ba[0]); close(ba[1]);
	return (t1 - t0) / n;
}

/* N fork+exit+wait; forks per second. */
static double forkrate(long n)
{
	double t0 = now_ns();
	long i;

	for (i = 0; i < n; i++) {
		pid_t p = fork();

		if (p == 0)
			_exit(0);
		waitpid(p, NULL, 0);
	}
	return n / ((now_ns() - t0) / 1e9);
}

/* N fork+exit+wait on every CPU at once, one forker pinned to each; forks per second, all CPUs. */
static double forkrate_all(long n)
{
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN), c;
	double t0 = now_ns();

	for (c = 0; c < ncpu; c++) {
		pid_t p = fork();

		if (p == 0) {
			pin(c);
			forkrate(n);
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	return ncpu * n / ((now_ns() - t0) / 1e9);
}

/* A task on CPU 1 that runs a little every 100 us: the per-task event's task in p1other. */
static pid_t spinner_on_cpu1(void)
{
	pid_t p = fork();

	if (p == 0) {
		pin(1);
		for (;;)
			usleep(100);
	}
	return p;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * p1/p4 ROUNDS N: A/B interleaved. Each round measures once with no event
 * and once with a system-wide call-stack event open on every CPU, in
 * alternating order; prints the medians and their ratio.
 */
static int cmd_ab(const char *what, int rounds, long n)
{
	double off[256], on[256];
	int fds[128], r;
	pid_t spinner = -1;

	if (rounds > 256)
		rounds = 256;
	if (!strncmp(what, "p1other", 7))
		spinner = spinner_on_cpu1();
	for (r = 0; r < rounds; r++) {
		for (int k = 0; k < 2; k++) {
			int with = (r + k) % 2, nf = 0;
			double v;

			if (with && (!strcmp(what, "p1other") || !strcmp(what, "p1othersw"))) {
				/* p1othersw: a software event there instead, the core's share. */
				struct perf_event_attr a = { .size = sizeof(a), .type = pmu_type(),
							     .config = CFG_CALLSTACK };

				if (what[7] == 's') {
					a.type = PERF_TYPE_SOFTWARE;
					a.config = PERF_COUNT_SW_CPU_CLOCK;
				}
				fds[0] = perf_open(&a, spinner, -1, -1, PERF_FLAG_FD_CLOEXEC);
				nf = fds[0] >= 0 ? 1 : -errno;
				if (nf <= 0) {
					fprintf(stderr, "lbrctx-tool: per-task event: %s\n",
						errname(-nf));
					return 1;
				}
			} else if (with) {
				nf = open_global(fds, 128, CFG_CALLSTACK);
				if (nf <= 0) {
					fprintf(stderr, "lbrctx-tool: system-wide event: %s\n",
						nf ? errname(-nf) : "none opened");
					return 1;
				}
			}
			v = !strcmp(what, "p4")	     ? forkrate(n)
			    : !strcmp(what, "p4all") ? forkrate_all(n)
						     : pingpong(n);
			if (with) {
				close_all(fds, nf);
				on[r] = v;
			} else {
				off[r] = v;
			}
		}
	}
	if (spinner > 0) {
		kill(spinner, SIGKILL);
		waitpid(spinner, NULL, 0);
	}
	double mo = median(off, rounds), mn = median(on, rounds);

	if (!strncmp(what, "p1", 2))
		printf("%s off_ns=%.0f on_ns=%.0f ratio=%.3f rounds=%d n=%ld\n", what, mo, mn,
		       mn / mo, rounds, n);
	else
		printf("%s off_per_s=%.0f on_per_s=%.0f ratio=%.3f rounds=%d n=%ld\n", what, mo,
		       mn, mn / mo, rounds, n);
	return 0;
}

/*
 * U1's probed function (make bench resolves it with lbrctx-uprobes): a
 * call and a return a loop iteration, nothing else.
 */
__attribute__((noinline)) long lbrctx_u1_target(long x)
{
	__asm__ volatile("" : "+r"(x));
	return x + 1;
}

/* ucalls N: N calls of lbrctx_u1_target; ns per call. */
static int cmd_ucalls(long n)
{
	long x = 0;
	double t0 = now_ns();

	for (long i = 0; i < n; i++)
		x = lbrctx_u1_target(x);
	printf("ucalls n=%ld ns_per_call=%.1f\n", x, (now_ns() - t0) / n);
	return x == n ? 0 : 1;
}

/*
 * p1two ROUNDS N: the switch path with one configuration against two.
 * Each round runs the ping-pong three times, in rotating order: no event;
 * a system-wide call-stack event (one unit); that event plus a per-task
 * branches event on both ping-pong tasks (inherited by the child), whose
 * configuration takes a second unit. Prints the medians; the second
 * unit's cost per context switch is half the round trip's difference
 * (a round trip is two switches on the CPU).
 */
static int cmd_p1two(int rounds, long n)
{
	double v[3][256];
	int fds[128], r;

	if (rounds > 256)
		rounds = 256;
	for (r = 0; r < rounds; r++) {
		for (int k = 0; k < 3; k++) {
			int mode = (r + k) % 3, nf = 0, pt = -1;

			if (mode >= 1) {
				nf = open_global(fds, 128, CFG_CALLSTACK);
				if (nf <= 0) {
					fprintf(stderr, "lbrctx-tool: system-wide event: %s\n",
						nf ? errname(-nf) : "none opened");
					return 1;
				}
			}
			if (mode == 2) {
				struct perf_event_attr a = { .size = sizeof(a), .type = pmu_type(),
							     .config = 1, .inherit = 1 };

				pt = perf_open(&a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
				if (pt < 0) {
					fprintf(stderr, "lbrctx-tool: per-task event: %s\n",
						errname(errno));
					return 1;
				}
			}
			v[mode][r] = pingpong(n);
			if (pt >= 0)
				close(pt);
			close_all(fds, nf);
		}
	}
	double off = median(v[0], rounds), one = median(v[1], rounds), two = median(v[2], rounds);

	printf("p1two off_ns=%.0f one_ns=%.0f two_ns=%.0f ratio_one=%.3f ratio_two=%.3f "
	       "ratio_two_one=%.3f second_unit_ns_per_switch=%.0f rounds=%d n=%ld\n",
	       off, one, two, one / off, two / off, two / one, (two - one) / 2, rounds, n);
	return 0;
}

/* The bytes of @path, NUL-terminated, and their count in *@n; NULL on failure. */
static char *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (f && !fseek(f, 0, SEEK_END) && (len = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
		buf = malloc(len + 1);
		if (buf && fread(buf, 1, len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		} else if (buf) {
			buf[len] = 0;
			*n = len;
		}
	}
	if (f)
		fclose(f);
	return buf;
}

/* One write() of @n bytes of @buf to @path: 0 or the errno; its time in *@ns. */
static int write_once(const char *path, const char *buf, size_t n, double *ns)
{
	int fd = open(path, O_WRONLY), e = 0;
	double t0;

	if (fd < 0)
		return errno;
	t0 = now_ns();
	if (write(fd, buf, n) < 0)
		e = errno;
	*ns = now_ns() - t0;
	close(fd);
	return e;
}

/*
 * Write @text (with "\n" escapes for newlines; "@FILE" for FILE's bytes)
 * to @path in one write(), as lbrctx's debugfs files take a set; print
 * "ok" or the errno's name.
 */
static int cmd_write(const char *path, const char *text)
{
	size_t n = strlen(text), j = 0;
	char *buf;
	double ns;
	int e;

	if (text[0] == '@') {
		buf = read_file(text + 1, &j);
		if (!buf) {
			perror(text + 1);
			return 1;
		}
	} else {
		buf = malloc(n + 1);
		if (!buf)
			return 1;
		for (size_t i = 0; i < n; i++) {
			if (text[i] == '\\' && text[i + 1] == 'n') {
				buf[j++] = '\n';
				i++;
			} else {
				buf[j++] = text[i];
			}
		}
	}
	e = write_once(path, buf, j, &ns);
	free(buf);
	printf("%s\n", errname(e));
	return 0;
}

/* writetime PATH FILE: FILE's bytes to PATH in one write(); "<errno name> ns=<time>". */
static int cmd_writetime(const char *path, const char *file)
{
	size_t n = 0;
	char *buf = read_file(file, &n);
	double ns;
	int e;

	if (!buf) {
		perror(file);
		return 1;
	}
	e = write_once(path, buf, n, &ns);
	free(buf);
	printf("%s ns=%.0f\n", errname(e), ns);
	return 0;
}

/*
 * pairs WORKLOAD: lbrctx events of different unit configurations at once.
 * For every configuration, a baseline: its count of WORKLOAD (run in a
 * child on CPU 1) with a per-task event alone. Then every configuration
 * as a system-wide event on CPU 1 beside every one as a per-task event on
 * the child: both must run all the time (time_running == time_enabled:
 * else "starved") and count exactly their baselines, and each sampled
 * branch stack must hold only what the event's own configuration records
 * (else "mismatched"). Then six configurations on one child at once, past
 * the four units a CPU has: each runs a share of the time and its count,
 * scaled by perf's rule (count * enabled / running), is near its baseline.
 */
struct pcfg {
	const char *name;
	unsigned long long config;
	int kernel_only;	/* exclude_user, branch stack of kernel branches */
	unsigned int depth;
	unsigned int types;	/* allowed PERF_BR_* types of entries, as a bit mask */
};

#define BR(t) (1u << (t))
static const struct pcfg pcfgs[] = {
	{ "all", 0x1, 0, 32, ~0u },
	{ "call", LBRCTX_CFG(event, 1) | LBRCTX_CFG(call, 1), 0, 32, BR(PERF_BR_CALL) },
	{ "ind_call", LBRCTX_CFG(event, 1) | LBRCTX_CFG(ind_call, 1), 0, 32, BR(PERF_BR_IND_CALL) },
	{ "ret", LBRCTX_CFG(event, 1) | LBRCTX_CFG(ret, 1), 0, 32, BR(PERF_BR_RET) },
	{ "callstack", LBRCTX_CFG(event, 1) | LBRCTX_CFG(cs, 1), 0, 32, BR(PERF_BR_CALL) | BR(PERF_BR_IND_CALL) },
	{ "callstack_depth8", LBRCTX_CFG(event, 1) | LBRCTX_CFG(cs, 1) | LBRCTX_CFG(depth, 8), 0, 8,
	  BR(PERF_BR_CALL) | BR(PERF_BR_IND_CALL) },
	{ "depth32", LBRCTX_CFG(event, 1) | LBRCTX_CFG(depth, 32), 0, 32, ~0u },
	{ "kernel", 0x1, 1, 32, ~0u },
};
#define NCFG (sizeof(pcfgs) / sizeof(pcfgs[0]))
#define RB_PAGES 16

struct pev {
	int fd;
	void *rb;
	unsigned long long count, enabled, running;
	unsigned long samples, bad;
	char why[160];
};

static void pev_attr(const struct pcfg *c, struct perf_event_attr *a, int per_task)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = pmu_type();
	a->config = c->config;
	a->sample_period = 16;
	a->sample_type = PERF_SAMPLE_BRANCH_STACK;
	a->branch_sample_type = PERF_SAMPLE_BRANCH_ANY | PERF_SAMPLE_BRANCH_TYPE_SAVE |
				PERF_SAMPLE_BRANCH_KERNEL | (c->kernel_only ? 0 : PERF_SAMPLE_BRANCH_USER);
	a->exclude_user = c->kernel_only;
	a->read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	if (per_task) {
		a->disabled = 1;
		a->enable_on_exec = 1;
		a->inherit = 1;
	}
}

static int pev_open(struct pev *e, const struct pcfg *c, pid_t pid, int cpu)
{
	struct perf_event_attr a;

	memset(e, 0, sizeof(*e));
	pev_attr(c, &a, pid > 0);
	/* Inherited events are mmapped per CPU; the workload runs on CPU 1. */
	e->fd = perf_open(&a, pid, pid > 0 ? 1 : cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (e->fd < 0) {
		snprintf(e->why, sizeof(e->why), "open %s: %s", c->name, errname(errno));
		return -1;
	}
	e->rb = mmap(NULL, (RB_PAGES + 1) * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd, 0);
	if (e->rb == MAP_FAILED) {
		snprintf(e->why, sizeof(e->why), "mmap %s: %s", c->name, errname(errno));
		e->rb = NULL;
		return -1;
	}
	return 0;
}

/* Read the count and times; check every sample's branch stack against @c. */
static void pev_finish(struct pev *e, const struct pcfg *c)
{
	unsigned long long v[3] = { 0, 0, 0 };

	if (read(e->fd, v, sizeof(v)) == sizeof(v)) {
		e->count = v[0];
		e->enabled = v[1];
		e->running = v[2];
	}
	if (e->rb) {
		struct perf_event_mmap_page *pg = e->rb;
		unsigned char *data = (unsigned char *)e->rb + 4096;
		unsigned long long head = __atomic_load_n(&pg->data_head, __ATOMIC_ACQUIRE);
		unsigned long long tail = pg->data_tail, size = RB_PAGES * 4096ULL;

		while (tail < head) {
			unsigned char rec[4096];
			struct perf_event_header h;
			unsigned long long n, i, off = tail % size;

			for (i = 0; i < sizeof(h); i++)
				((unsigned char *)&h)[i] = data[(off + i) % size];
			if (h.size < sizeof(h) || h.size > sizeof(rec))
				break;
			for (i = 0; i < h.size; i++)
				rec[i] = data[(off + i) % size];
			tail += h.size;
			if (h.type != PERF_RECORD_SAMPLE)
				continue;
			memcpy(&n, rec + sizeof(h), sizeof(n));
			e->samples++;
			if (n > c->depth) {
				if (!e->bad++)
					snprintf(e->why, sizeof(e->why), "%s: %llu records, depth %u",
						 c->name, n, c->depth);
				continue;
			}
			for (i = 0; i < n; i++) {
				struct perf_branch_entry b;

				memcpy(&b, rec + sizeof(h) + 8 + i * sizeof(b), sizeof(b));
				if (!(c->types & BR(b.type)) || (c->kernel_only && !(b.to >> 63))) {
					if (!e->bad++)
						snprintf(e->why, sizeof(e->why),
							 "%s: entry %#llx->%#llx type %u", c->name,
							 (unsigned long long)b.from,
							 (unsigned long long)b.to, (unsigned int)b.type);
				}
			}
		}
		munmap(e->rb, (RB_PAGES + 1) * 4096);
	}
	close(e->fd);
}

/* Fork the workload on CPU 1, stopped until run_child() lets it exec. */
static pid_t fork_child(const char *workload, int *go)
{
	int p[2];
	pid_t c;

	if (pipe(p))
		return -1;
	c = fork();
	if (c == 0) {
		char b;

		close(p[1]);
		pin(1);
		if (read(p[0], &b, 1) != 1)
			_exit(127);
		execl("/bin/sh", "sh", "-c", workload, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	*go = p[1];
	return c;
}

static int run_child(pid_t c, int go)
{
	int st = 0;

	if (write(go, "g", 1) != 1)
		return -1;
	close(go);
	waitpid(c, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int cmd_pairs(const char *workload, const char *long_workload)
{
	unsigned long long base[NCFG];
	unsigned int i, j, npairs = 0, starved = 0, mismatched = 0;
	int go;
	pid_t c;

	pin(0);
	for (i = 0; i < NCFG; i++) {
		struct pev e;

		c = fork_child(workload, &go);
		if (pev_open(&e, &pcfgs[i], c, -1)) {
			printf("FAIL baseline_%s: %s\n", pcfgs[i].name, e.why);
			kill(c, SIGKILL);
			waitpid(c, NULL, 0);
			return 1;
		}
		run_child(c, go);
		pev_finish(&e, &pcfgs[i]);
		base[i] = e.count;
		printf("%s baseline_%s: count %llu\n", e.count && !e.bad ? "ok" : "FAIL",
		       pcfgs[i].name, e.count);
	}
	for (i = 0; i < NCFG; i++) {
		for (j = 0; j < NCFG; j++) {
			struct pev sw, pt;
			int st = 0, mis = 0;
			char why[400] = "";

			npairs++;
			c = fork_child(workload, &go);
			if (pev_open(&sw, &pcfgs[i], -1, 1) || pev_open(&pt, &pcfgs[j], c, -1)) {
				printf("FAIL %s+%s: %s%s\n", pcfgs[i].name, pcfgs[j].name, sw.why, pt.why);
				kill(c, SIGKILL);
				waitpid(c, NULL, 0);
				starved++;
				continue;
			}
			run_child(c, go);
			pev_finish(&pt, &pcfgs[j]);
			pev_finish(&sw, &pcfgs[i]);
			if (pt.running != pt.enabled || sw.running != sw.enabled || !pt.running) {
				st = 1;
				snprintf(why, sizeof(why), "running/enabled sw %llu/%llu pt %llu/%llu; ",
					 sw.running, sw.enabled, pt.running, pt.enabled);
			}
			if (pt.count != base[j] || sw.count != base[i] || pt.bad || sw.bad) {
				mis = 1;
				snprintf(why + strlen(why), sizeof(why) - strlen(why),
					 "counts sw %llu (alone %llu) pt %llu (alone %llu) %s %s",
					 sw.count, base[i], pt.count, base[j], sw.why, pt.why);
			}
			starved += st;
			mismatched += mis;
			if (st || mis)
				printf("FAIL %s+%s: %s\n", pcfgs[i].name, pcfgs[j].name, why);
			else
				printf("ok %s+%s\n", pcfgs[i].name, pcfgs[j].name);
		}
	}
	printf("pairs pairs=%u starved=%u mismatched=%u\n", npairs, starved, mismatched);

	/* Past the limit: six configurations, four units. */
	{
		static const unsigned int six[] = { 0, 1, 3, 4, 5, 7 };
		struct pev e[6];
		unsigned long long alone[6];
		unsigned int k;

		for (k = 0; k < 6; k++) {
			c = fork_child(long_workload, &go);
			if (pev_open(&e[k], &pcfgs[six[k]], c, -1))
				return 1;
			run_child(c, go);
			pev_finish(&e[k], &pcfgs[six[k]]);
			alone[k] = e[k].count;
		}
		c = fork_child(long_workload, &go);
		for (k = 0; k < 6; k++)
			if (pev_open(&e[k], &pcfgs[six[k]], c, -1))
				return 1;
		run_child(c, go);
		for (k = 0; k < 6; k++) {
			const char *n = pcfgs[six[k]].name;
			double scaled;

			pev_finish(&e[k], &pcfgs[six[k]]);
			scaled = e[k].running ? (double)e[k].count * e[k].enabled / e[k].running : 0;
			printf("%s past_the_limit_%s_runs_a_share: running %llu of %llu\n",
			       e[k].running && e[k].running <= e[k].enabled ? "ok" : "FAIL", n,
			       e[k].running, e[k].enabled);
			printf("%s past_the_limit_%s_scaled_count_near_alone: count %llu scaled %.0f alone %llu\n",
			       scaled >= 0.6 * alone[k] && scaled <= 1.6 * alone[k] ? "ok" : "FAIL", n,
			       e[k].count, scaled, alone[k]);
			printf("%s past_the_limit_%s_records_obey_its_configuration: %lu samples%s%s\n",
			       e[k].bad ? "FAIL" : "ok", n, e[k].samples, e[k].bad ? ", " : "", e[k].why);
		}
	}
	return 0;
}

static int cmd_reads(long n)
{
	int fd = open("/dev/zero", O_RDONLY);
	char b;
	double t0 = now_ns();

	for (long i = 0; i < n; i++)
		if (read(fd, &b, 1) != 1)
			return 1;
	printf("reads n=%ld ns_per_read=%.1f\n", n, (now_ns() - t0) / n);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		goto usage;
	if (!strcmp(argv[1], "attr") && argc == 3)
		return cmd_attr(argv[2]);
	if (!strcmp(argv[1], "open"))
		return cmd_open(argc - 2, argv + 2);
	if (!strcmp(argv[1], "hold") && argc >= 3)
		return cmd_hold(argc - 2, argv + 2);
	if (!strcmp(argv[1], "storm") && argc == 5)
		return cmd_storm(atof(argv[2]), atoi(argv[3]), strtoul(argv[4], NULL, 0));
	if (!strcmp(argv[1], "openclose") && argc == 3)
		return cmd_openclose(atof(argv[2]));
	if (!strcmp(argv[1], "ucalls") && argc == 3)
		return cmd_ucalls(atol(argv[2]));
	if (!strcmp(argv[1], "p1two") && argc == 4)
		return cmd_p1two(atoi(argv[2]), atol(argv[3]));
	if ((!strcmp(argv[1], "p1") || !strcmp(argv[1], "p4") || !strcmp(argv[1], "p1other") ||
	     !strcmp(argv[1], "p1othersw") || !strcmp(argv[1], "p4all")) &&
	    argc == 4)
		return cmd_ab(argv[1], atoi(argv[2]), atol(argv[3]));
	if (!strcmp(argv[1], "reads") && argc == 3)
		return cmd_reads(atol(argv[2]));
	if (!strcmp(argv[1], "write") && argc == 4)
		return cmd_write(argv[2], argv[3]);
	if (!strcmp(argv[1], "writetime") && argc == 4)
		return cmd_writetime(argv[2], argv[3]);
	if (!strcmp(argv[1], "pairs") && argc == 4)
		return cmd_pairs(argv[2], argv[3]);
usage:
	fprintf(stderr, "usage: see the comment at the top of scripts/lbrctx-tool.c\n");
	return 2;
}
