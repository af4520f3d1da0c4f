# Each module registers its models with the admin site on import.
from society.admin import jobs, mail, news, pages  # noqa: F401
