-- wrk script: POST /api/v1/media/request-upload-url with one file, keep-alive.
local key = os.getenv("MEDIA_BENCH_KEY")
wrk.method = "POST"
wrk.headers["Authorization"] = "ApiKey " .. key
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"files":[{"fileName":"living-room.jpg","size":245000,' ..
           '"contentType":"image/jpeg","externalId":"apt-001-photo-1"}]}'

done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50=%.3f p99=%.3f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, summary.errors.status))
end
