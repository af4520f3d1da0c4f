# Each module registers its models with the admin site on import.
from society.admin import exports, jobs, mail, news, pages  # noqa: F401
