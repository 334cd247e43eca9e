// pidusage ships no types; this declares the part of its API the harness uses.
declare module 'pidusage' {
  interface Status {
    /** CPU percent since the previous call. */
    cpu: number;
    /** Resident set size, bytes. */
    memory: number;
    /** CPU time used by the process (user + system), milliseconds. */
    ctime: number;
    elapsed: number;
    timestamp: number;
    pid: number;
    ppid: number;
  }
  function pidusage(pid: number): Promise<Status>;
  namespace pidusage {
    /** Forget cached per-pid history. */
    function clear(): void;
  }
  export default pidusage;
}
