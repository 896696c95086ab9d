/* regwatch: tells a job's spawner (harness/spawner.py) whether the registry was changed.
 *
 * It runs beside a job's wineserver, for as long as that server serves the job's runs. At
 * start it asks the server to signal an event at any change under HKEY_LOCAL_MACHINE or
 * HKEY_USERS (HKEY_CURRENT_USER is one of the users): a key made, deleted or renamed, a
 * value set or deleted, attributes or security changed. Then, for each byte read on its
 * standard input, it writes one: '0' when nothing changed since it started, '1' when
 * something did (and then it exits: the spawner starts a fresh server and a fresh regwatch).
 * Writing a value equal to the one there is no change (every Wine process does that to
 * TimeZoneInformation at start).
 */
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <windows.h>

#define CHANGES (REG_NOTIFY_CHANGE_NAME | REG_NOTIFY_CHANGE_ATTRIBUTES | \
                 REG_NOTIFY_CHANGE_LAST_SET | REG_NOTIFY_CHANGE_SECURITY)

static HANDLE watch(HKEY root, const char *name)
{
    HKEY key;
    HANDLE event = CreateEventA(NULL, TRUE, FALSE, NULL);
    LONG status = RegOpenKeyExA(root, NULL, 0, KEY_NOTIFY, &key);
    if (status == ERROR_SUCCESS)
        status = RegNotifyChangeKeyValue(key, TRUE, CHANGES, event, TRUE);
    if (event == NULL || status != ERROR_SUCCESS) {
        fprintf(stderr, "regwatch: cannot watch %s: error %ld\n", name, status);
        exit(2);
    }
    return event;
}

int main(void)
{
    HANDLE events[2] = {watch(HKEY_LOCAL_MACHINE, "HKEY_LOCAL_MACHINE"),
                        watch(HKEY_USERS, "HKEY_USERS")};
    setvbuf(stdout, NULL, _IONBF, 0);
    _setmode(_fileno(stdout), _O_BINARY);       /* "ready\n", not "ready\r\n" */
    printf("ready\n");
    while (getchar() != EOF) {
        BOOL changed = WaitForMultipleObjects(2, events, FALSE, 0) != WAIT_TIMEOUT;
        putchar(changed ? '1' : '0');
        if (changed)
            return 0;
    }
    return 0;
}
