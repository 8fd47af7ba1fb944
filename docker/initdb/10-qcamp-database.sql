-- The application's own database, beside the Prefect server's (POSTGRES_DB=prefect).
CREATE DATABASE qcamp;
