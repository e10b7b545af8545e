-- Complaints (issue 18, part 7). Never edited after landing.
--
-- A complaint about the use of someone's data (DPA 2018 s.164A) is a rights request of the kind
-- `complaint`: acknowledged within 30 days of its receipt, then answered with its outcome and the
-- right to complain to the Information Commissioner. The day it was acknowledged.
ALTER TABLE rights_request ADD COLUMN acknowledged_on TEXT;
