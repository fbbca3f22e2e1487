// SPDX-License-Identifier: GPL-2.0
/*
 * elapsed-us CMD [ARGS...]: run CMD, then print the time it took in
 * microseconds (CLOCK_MONOTONIC) on stderr as "elapsed-us: N"; exit with
 * CMD's status.  For timing single commands in the guest, whose busybox
 * date has no sub-second resolution.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	long long start;
	pid_t pid;
	int status;

	if (argc < 2) {
		fprintf(stderr, "usage: elapsed-us CMD [ARGS...]\n");
		return 2;
	}
	start = now_us();
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("waitpid");
		return 2;
	}
	fprintf(stderr, "elapsed-us: %lld\n", now_us() - start);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
