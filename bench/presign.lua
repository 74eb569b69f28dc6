-- wrk script: POST /api/v1/media/request-upload-url with one file, keep-alive.
local key = os.getenv("MEDIA_BENCH_KEY")
wrk.method = "POST"
wrk.headers["Authorization"] = "ApiKey " .. key
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"files":[{"fileName":"living-room.jpg","size":245000,' ..
           '"contentType":"image/jpeg","externalId":"apt-001-photo-1"}]}'

done = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
              .. "wrk_done.lua")
