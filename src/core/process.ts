/** Processes on this machine, VS Code-free (locks and part files name the process that owns them). */

/**
 * Whether process `pid` is running on this machine: signal 0 checks without signalling. `EPERM` means it exists
 * but belongs to another user, so it counts as alive.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
