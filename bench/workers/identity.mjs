/**
 * mapPartitions worker of the I/O floor: returns each partition unchanged, so a run
 * measures reading, the worker pool and writing with no model.
 */
export function processPartition(table) {
  return table;
}
