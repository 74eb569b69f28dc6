-- wrk script: the reference, nginx's own "return 200" in the same server.
done = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
              .. "wrk_done.lua")
