-- Exactly-once (issue 12): at most one live restriction and one live upheld objection per person,
-- so that of callers racing to record one, one wins and the rest get a conflict. Cases already have
-- theirs (case_episode_one_open, 0003); other transitions are conditional updates in the store.

-- A duplicate recorded before this index existed added nothing while an earlier one was in force:
-- it is marked lifted from the moment it started, so what is in force does not change.
UPDATE person_restriction SET lifted_at = started_at, lifted_by = 'system:duplicate'
WHERE lifted_at IS NULL AND EXISTS (
    SELECT 1 FROM person_restriction earlier
    WHERE earlier.person_id = person_restriction.person_id
      AND earlier.kind = person_restriction.kind
      AND earlier.lifted_at IS NULL
      AND (earlier.started_at < person_restriction.started_at
           OR (earlier.started_at = person_restriction.started_at AND earlier.id < person_restriction.id))
);

CREATE UNIQUE INDEX person_restriction_one_live ON person_restriction (person_id, kind) WHERE lifted_at IS NULL;
