// A Cloud HSM cluster with the user-assigned identity its backups use, and
// the blob role that identity needs on the group's storage.

@description('Name of the Cloud HSM cluster.')
@minLength(3)
@maxLength(23)
param clusterName string

@description('Region of the cluster and its identity.')
param location string = resourceGroup().location

@allowed([
  'Standard_B1'
  'Standard B10'
])
param skuName string = 'Standard_B1'

param tags object = {
  Dept: 'hsm'
}

var blobContributor = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${clusterName}-backup'
  location: location
  tags: tags
}

resource cluster 'Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31' = {
  name: clusterName
  location: location
  tags: tags
  sku: {
    family: 'B'
    name: skuName
  }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    publicNetworkAccess: 'Disabled'
  }
}

resource blobRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, identity.id, blobContributor)
  properties: {
    roleDefinitionId: blobContributor
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output clusterId string = cluster.id
output hsmFqdns array = [for hsm in cluster.properties.hsms: hsm.fqdn]
output identityPrincipalId string = identity.properties.principalId
