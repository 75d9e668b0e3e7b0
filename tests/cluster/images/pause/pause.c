/* Pod sandbox stand-in: hold the pod's namespaces open and do nothing.
 * Blocks in pause(); exits 0 on SIGINT or SIGTERM; reaps children on SIGCHLD
 * (it is PID 1 when the pod shares its PID namespace). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig) { (void)sig; _exit(0); }

static void on_chld(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) return 1;
  sa.sa_handler = on_chld;
  sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  if (sigaction(SIGCHLD, &sa, NULL) < 0) return 2;
  if (getpid() != 1) fprintf(stderr, "pause-standin: not PID 1\n");
  for (;;) pause();
  return 42; /* not reached */
}
