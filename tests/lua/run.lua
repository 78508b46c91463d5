-- Runs the generator's tests (tests/lua/test_*.lua) under LuaJIT:
--   luajit tests/lua/run.lua [NAME-PATTERN]
-- Each test file returns a list of { name, function }; a test fails by
-- raising an error.  Ends with "N passed, N failed".
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local root = here .. "/../.."
package.path = root .. "/generator/lib/?.lua;" .. here .. "/?.lua;" .. package.path

local files = {}
local p = io.popen("ls -1 '" .. here .. "'")
for name in p:lines() do
  if name:match("^test_.*%.lua$") then files[#files + 1] = name:gsub("%.lua$", "") end
end
p:close()
table.sort(files)

local passed, failed = 0, 0
for _, mod in ipairs(files) do
  for _, t in ipairs(require(mod)) do
    local name = mod .. ": " .. t[1]
    if not arg[1] or name:find(arg[1]) then
      local ok, err = xpcall(t[2], debug.traceback)
      if ok then
        passed = passed + 1
      else
        failed = failed + 1
        io.stderr:write("FAIL ", name, "\n", tostring(err), "\n")
      end
    end
  end
end
print(string.format("lua: %d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
