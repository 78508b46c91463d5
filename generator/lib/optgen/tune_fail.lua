-- How optgen tune's parts raise an error meant for the user: a table
-- { tune = message }, which cli.lua prints after "optgen: tune: ".
return function(fmt, ...) error({ tune = string.format(fmt, ...) }, 0) end
