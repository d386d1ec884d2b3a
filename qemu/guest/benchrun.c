// SPDX-License-Identifier: GPL-2.0
/*
 * benchrun FILE COMMAND [ARG...]: run COMMAND (searched in PATH, with this
 * program's stdin, stdout and stderr) and append "NS STATUS" to FILE: the
 * CLOCK_MONOTONIC nanoseconds from just before its fork to just after its
 * wait, and its exit status (128 + the signal if a signal ended it, 127 if
 * it could not be run). Exits 0 once the line is written, whatever
 * COMMAND's status: the caller reads it from FILE.
 *
 * With BENCHRUN_MARKS set to a file, it also appends "s\n" to that file
 * just before the fork and "e\n" just after the wait: on the shared
 * results directory, marks the host sees as they are written (scripts/
 * bench.sh reads QEMU's CPU time at each).
 *
 * The guest's clock for make bench's H1 and H2 (qemu/guest/bench.sh); built
 * for the host by scripts/bench.sh (the guests share the host's root).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static void mark(const char *what)
{
	const char *path = getenv("BENCHRUN_MARKS");
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "a");
	if (!f || fputs(what, f) < 0 || fclose(f)) {
		perror("benchrun: marks");
		exit(1);
	}
}

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	long long t0, t1;
	int st, status;
	pid_t pid;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: benchrun FILE COMMAND [ARG...]\n");
		return 2;
	}
	mark("s\n");
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("benchrun: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror("benchrun: exec");
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid) {
		perror("benchrun: waitpid");
		return 1;
	}
	t1 = now_ns();
	mark("e\n");
	status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	f = fopen(argv[1], "a");
	if (!f || fprintf(f, "%lld %d\n", t1 - t0, status) < 0 || fclose(f)) {
		perror("benchrun: write");
		return 1;
	}
	return 0;
}
