-- The runtime's fixed limits per kernel (runtime/optk_internal.h: the
-- OPTK_MAX_* macros; tests/lua/test_spec.lua checks that the two agree).
-- Arrays of these sizes live on the stack of optk_step and its threads, so
-- a spec beyond them is refused with a file:line error.
return {
  state = 8,    -- OPTK_MAX_STATE: state arrays
  hparams = 32, -- OPTK_MAX_HPARAMS: hyperparameters
  consts = 16,  -- OPTK_MAX_CONSTS: per-call constants after hoisting
}
