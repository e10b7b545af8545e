-- Contact preferences and messages (F4, R16-R17). Never edited after landing.
SELECT 1;
