// SPDX-License-Identifier: GPL-2.0
/*
 * Running a KMS plugin program once, with a deadline: fork and exec, the
 * pipes of its stdin, stdout and stderr, one poll loop that feeds the
 * request and collects the rest, and the kill and reap of its process
 * group however the run ends.  The interface is plugin-run.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "plugin-run.h"

/* One run: what it is for, in messages, and where its output goes. */
struct run {
	const char *name;		/* the plugin's KMS name */
	const char *what;		/* "wrap of CMK db" */
	int timeout_ms;
	const char *req;
	size_t req_len;
	struct ec_plugin_output *out;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * In the child, between fork and exec (async-signal-safe calls only):
 * stdin, stdout, stderr from the pipes, its own process group, killed
 * with its parent, default signals; on failure, errno to @status_fd.
 */
static void __attribute__((noreturn))
child_exec(const char *path, int in_fd, int out_fd, int err_fd,
	   int status_fd, pid_t parent)
{
	char *const argv[] = { (char *)path, NULL };
	sigset_t none;
	int fd[3], i, e;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	/* out of the way of 0..2 first: a pipe end may be one of them */
	fd[0] = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
	fd[1] = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
	fd[2] = fcntl(err_fd, F_DUPFD_CLOEXEC, 3);
	for (i = 0; i < 3; i++)
		if (fd[i] < 0 || dup2(fd[i], i) != i)
			goto fail;
	/* nothing else of ours crosses exec: fds 3.. close on exec */
	if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC))
		for (i = 3; i < 1024; i++)
			fcntl(i, F_SETFD, FD_CLOEXEC);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* a PKCS#11 PIN is for the token, not for plugins */
	unsetenv("ENVCRYPT_PKCS11_PIN");
	execve(path, argv, environ);
fail:
	e = errno;
	if (write(status_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Kill the plugin's process group and reap the plugin. */
static void kill_and_reap(pid_t pid, int *status)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

static int too_slow(struct run *x, pid_t pid)
{
	kill_and_reap(pid, &x->out->status);
	return ec_err_set(-ETIMEDOUT,
			  "%s did not finish %s within the timeout of %d s (killed it); if the KMS is only slow, raise timeout= in the KMS URI",
			  x->name, x->what, x->timeout_ms / 1000);
}

/* Read what @fd has into @buf (@size, *len used); 0 at EOF, else 1. */
static int drain(int fd, char *buf, size_t size, size_t *len)
{
	char scratch[512];
	ssize_t n;

	if (*len < size)
		n = read(fd, buf + *len, size - *len);
	else
		n = read(fd, scratch, sizeof(scratch));	/* past the cap */
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 1 : 0;
	if (n == 0)
		return 0;
	if (*len < size)
		*len += (size_t)n;
	return 1;
}

/* Has the plugin exited (not reaped yet)? */
static bool has_exited(pid_t pid)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	return !waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) &&
	       info.si_pid;
}

/*
 * Feed the request to the plugin and collect its reply, its stderr and
 * how it ended, all before the deadline.
 */
static int talk(struct run *x, pid_t pid, int *in_fd, int *out_fd,
		int *err_fd, int64_t deadline)
{
	size_t sent = 0;
	struct pollfd pfd[3];
	bool exited = false;
	int64_t left;
	siginfo_t info;
	struct ec_plugin_output *out = x->out;
	ssize_t n;
	int k, e, i_in, i_out, i_err;

	while (*out_fd >= 0 || *err_fd >= 0) {
		left = deadline - now_ms();
		if (left <= 0)
			return too_slow(x, pid);
		/*
		 * A process the plugin left behind may hold its stdout or
		 * stderr open: once the plugin has exited, its group is
		 * killed and what the pipes hold is read without waiting.
		 */
		if (!exited && has_exited(pid)) {
			exited = true;
			kill(-pid, SIGKILL);
			close_fd(in_fd);
		}
		k = 0;
		i_in = i_out = i_err = -1;
		if (*in_fd >= 0) {
			pfd[k] = (struct pollfd){ .fd = *in_fd, .events = POLLOUT };
			i_in = k++;
		}
		if (*out_fd >= 0) {
			pfd[k] = (struct pollfd){ .fd = *out_fd, .events = POLLIN };
			i_out = k++;
		}
		if (*err_fd >= 0) {
			pfd[k] = (struct pollfd){ .fd = *err_fd, .events = POLLIN };
			i_err = k++;
		}
		k = poll(pfd, (nfds_t)k,
			 exited ? 0 : (int)(left < 50 ? left : 50));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			kill_and_reap(pid, &out->status);
			return ec_err_set(-e, "waiting for %s: %s",
					  x->name, strerror(e));
		}
		if (!k && exited)
			break;		/* the pipes hold nothing more */
		if (i_in >= 0 && pfd[i_in].revents) {
			n = write(*in_fd, x->req + sent, x->req_len - sent);
			if (n > 0)
				sent += (size_t)n;
			/* EPIPE: it does not read; its reply will say why */
			if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
			    sent == x->req_len)
				close_fd(in_fd);
		}
		if (i_out >= 0 && pfd[i_out].revents &&
		    !drain(*out_fd, out->reply, out->reply_max + 1,
			   &out->reply_len))
			close_fd(out_fd);
		if (out->reply_len > out->reply_max) {
			kill_and_reap(pid, &out->status);
			return ec_err_set(-EPROTO,
					  "%s failed %s: it sent more than %zu bytes (the most a reply may have)",
					  x->name, x->what, out->reply_max);
		}
		if (i_err >= 0 && pfd[i_err].revents &&
		    !drain(*err_fd, out->err, sizeof(out->err),
			   &out->err_len))
			close_fd(err_fd);
	}
	close_fd(in_fd);

	/* Its output is closed: wait for it to exit, without reaping. */
	for (;;) {
		memset(&info, 0, sizeof(info));
		k = waitid(P_PID, (id_t)pid, &info,
			   WEXITED | WNOHANG | WNOWAIT);
		if ((k == 0 && info.si_pid) || (k < 0 && errno != EINTR))
			break;
		left = deadline - now_ms();
		if (left <= 0)
			return too_slow(x, pid);
		usleep(left > 2 ? 2000 : (useconds_t)left * 1000);
	}
	/* what it left behind in its process group goes with it */
	kill_and_reap(pid, &out->status);
	return 0;
}

/* See plugin-run.h. */
int ec_plugin_run(const char *path, const char *name, const char *what,
		  int timeout_ms, const char *req, size_t req_len,
		  struct ec_plugin_output *output)
{
	struct run run = {
		.name = name, .what = what, .timeout_ms = timeout_ms,
		.req = req, .req_len = req_len, .out = output,
	};
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int status[2] = { -1, -1 }, e = 0, r;
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old;
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old_chld;
	int64_t deadline = now_ms() + timeout_ms;
	pid_t pid, self = getpid();
	ssize_t n;

	/*
	 * SIGCHLD ignored (inherited) would reap the plugin for us, and a
	 * handler could reap it first: its exit status would be lost.
	 */
	sigaction(SIGCHLD, &dfl, &old_chld);
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) ||
	    pipe2(err, O_CLOEXEC) || pipe2(status, O_CLOEXEC)) {
		r = ec_err_set(-errno, "cannot run %s: pipe: %m", name);
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = ec_err_set(-errno, "cannot run %s: fork: %m", name);
		goto out;
	}
	if (pid == 0)
		child_exec(path, in[0], out[1], err[1], status[1], self);
	setpgid(pid, pid);		/* as the child does: no race */
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	close_fd(&status[1]);

	/* EOF: it runs the plugin; an errno: exec failed */
	do {
		n = read(status[0], &e, sizeof(e));
	} while (n < 0 && errno == EINTR);
	if (n == sizeof(e)) {
		kill_and_reap(pid, &output->status);
		r = ec_err_set(-EIO, "cannot run %s: %s; check the program and the KMS URI",
			       name, strerror(e));
		goto out;
	}

	fcntl(in[1], F_SETFL, O_NONBLOCK);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	/* a plugin that exits without reading gives EPIPE, not SIGPIPE */
	sigaction(SIGPIPE, &ignore, &old);
	r = talk(&run, pid, &in[1], &out[0], &err[0], deadline);
	sigaction(SIGPIPE, &old, NULL);
out:
	sigaction(SIGCHLD, &old_chld, NULL);
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	close_fd(&status[0]);
	close_fd(&status[1]);
	return r;
}
