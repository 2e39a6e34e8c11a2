// The SM count the scheduling maths sizes splits by. On a GPU it is the device's (Attention.smCount,
// from the addon); on a machine without one (planning, tests, describe) it defaults to an H100 SXM's.

/** Streaming multiprocessors of an H100 SXM (the default for host-only planning). */
export const DEFAULT_SM_COUNT = 132;

/** SM counts the scheduler accepts (the addon's bound in scheduling.h). */
export const MAX_SM_COUNT = 4096;
