-- wrk's done() for every bench script: one line that run.sh parses,
--   RESULT rps=<requests/s> p50=<ms> p99=<ms> errors=<n> non2xx=<n>
-- Load with: done = dofile(<this file>)
return function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50=%.3f p99=%.3f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, summary.errors.status))
end
