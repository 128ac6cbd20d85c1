-- finality.sql (repeatable): whether an answer's block is final.
--
-- The follower stores the node's finalized block (006's table finality,
-- dimo_finalized_block). Every document and access answer carries
--   finalized_block  the chain's finalized block as last seen (null: the
--                    node named none, e.g. --finality latest on a node
--                    without the tag);
--   final            as_of_block <= finalized_block (null when unknown):
--                    true means no reorg can change the answer.
CREATE OR REPLACE FUNCTION dimo_internal.finality(p_chain_id bigint, p_block bigint) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
  SELECT jsonb_build_object('finalized_block', f.b, 'final', p_block <= f.b)
  FROM (SELECT dimo_finalized_block(p_chain_id) AS b) f
$$;
