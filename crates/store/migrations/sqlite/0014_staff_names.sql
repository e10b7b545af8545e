-- Staff display names and job titles (issue 16). Never edited after landing.
--
-- How colleagues are named on the pages: a display name ("Sam Patel") and a job title ("Senior
-- support worker"), both optional. An account without a display name (every account before this
-- migration) is shown by its handle, so nothing needs filling in here.
ALTER TABLE staff ADD COLUMN display_name TEXT;
ALTER TABLE staff ADD COLUMN job_title TEXT;
