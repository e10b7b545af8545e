-- Privacy notice versions (F5, R13): each service's notice as published, one row per version.
-- Never edited after landing. A notice is public text made from the register: no personal data.

CREATE TABLE notice_version (
    service_code TEXT   NOT NULL,
    version      BIGINT NOT NULL,
    digest       TEXT   NOT NULL,
    markdown     TEXT   NOT NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (service_code, version)
);
